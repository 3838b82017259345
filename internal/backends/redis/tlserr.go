package redis

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// certProblem says, in one line, what is wrong with the certificate a TLS
// server showed, and what to do about it; "" when err is not about one.
func certProblem(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = " (issued by " + unknown.Cert.Issuer.String() + ")"
		}
		return "the server's certificate is signed by an unknown authority" + issuer + "; trust its CA with ?ca=FILE"
	case errors.As(err, &host):
		names := "no names"
		if host.Certificate != nil {
			all := append([]string{}, host.Certificate.DNSNames...)
			for _, ip := range host.Certificate.IPAddresses {
				all = append(all, ip.String())
			}
			if len(all) > 0 {
				names = strings.Join(all, ", ")
			}
		}
		return fmt.Sprintf("the server's certificate is for %s, not %s; connect by one of those names or set ?servername=", names, host.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != nil:
		c := invalid.Cert
		if time.Now().Before(c.NotBefore) {
			return "the server's certificate is not valid before " + c.NotBefore.UTC().Format(time.RFC3339) + " (check the clocks)"
		}
		return "the server's certificate expired on " + c.NotAfter.UTC().Format(time.RFC3339)
	case errors.As(err, &invalid):
		return "the server's certificate is not valid: " + invalid.Error()
	}
	return ""
}
