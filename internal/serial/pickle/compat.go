package pickle

import "strings"

// ---- Python 2 names (Lib/_compat_pickle.py) ----
//
// CPython keeps its Python 2 renames in one module: IMPORT_MAPPING and
// NAME_MAPPING turn the globals of a protocol 0-2 pickle into Python 3 names,
// and REVERSE_IMPORT_MAPPING and REVERSE_NAME_MAPPING, which protocol 2
// writes with, are their inverses plus a few entries of their own. The
// tables here are written the same way: each rename that goes both ways once,
// then the entries that go only one way.

// compatModules are the modules renamed both ways: "python2 python3".
const compatModules = `
__builtin__ builtins
copy_reg copyreg
Queue queue
SocketServer socketserver
ConfigParser configparser
repr reprlib
tkFileDialog tkinter.filedialog
tkSimpleDialog tkinter.simpledialog
tkColorChooser tkinter.colorchooser
tkCommonDialog tkinter.commondialog
Dialog tkinter.dialog
Tkdnd tkinter.dnd
tkFont tkinter.font
tkMessageBox tkinter.messagebox
ScrolledText tkinter.scrolledtext
Tkconstants tkinter.constants
Tix tkinter.tix
ttk tkinter.ttk
Tkinter tkinter
markupbase _markupbase
_winreg winreg
thread _thread
dummy_thread _dummy_thread
dbhash dbm.bsd
dumbdbm dbm.dumb
dbm dbm.ndbm
gdbm dbm.gnu
xmlrpclib xmlrpc.client
SimpleXMLRPCServer xmlrpc.server
httplib http.client
htmlentitydefs html.entities
HTMLParser html.parser
Cookie http.cookies
cookielib http.cookiejar
BaseHTTPServer http.server
test.test_support test.support
commands subprocess
urlparse urllib.parse
robotparser urllib.robotparser
urllib2 urllib.request
anydbm dbm
_abcoll collections.abc
`

// compatModulesRead are read only: several Python 2 modules became one
// Python 3 module, which protocol 2 writes under the name above.
const compatModulesRead = `
cPickle pickle
_elementtree xml.etree.ElementTree
FileDialog tkinter.filedialog
SimpleDialog tkinter.simpledialog
DocXMLRPCServer xmlrpc.server
SimpleHTTPServer http.server
CGIHTTPServer http.server
UserDict collections
UserList collections
UserString collections
whichdb dbm
StringIO io
cStringIO io
`

// compatModulesWrite are written only (REVERSE_IMPORT_MAPPING's own
// entries): "python3 python2".
const compatModulesWrite = `
_bz2 bz2
_dbm dbm
_functools functools
_gdbm gdbm
_pickle pickle
`

// compatNames are the globals renamed both ways: "module2 name2 module3
// name3", or "module2 module3 name,name..." for names that keep their name.
const compatNames = `
__builtin__ xrange builtins range
__builtin__ reduce functools reduce
__builtin__ intern sys intern
__builtin__ unichr builtins chr
__builtin__ unicode builtins str
__builtin__ long builtins int
itertools izip builtins zip
itertools imap builtins map
itertools ifilter builtins filter
itertools ifilterfalse itertools filterfalse
itertools izip_longest itertools zip_longest
UserDict IterableUserDict collections UserDict
UserList UserList collections UserList
UserString UserString collections UserString
whichdb whichdb dbm whichdb
_socket fromfd socket fromfd
_multiprocessing Connection multiprocessing.connection Connection
multiprocessing.process Process multiprocessing.context Process
multiprocessing.forking Popen multiprocessing.popen_fork Popen
urllib ContentTooShortError urllib.error ContentTooShortError
urllib2 HTTPError urllib.error HTTPError
urllib2 URLError urllib.error URLError
multiprocessing multiprocessing.context AuthenticationError,BufferTooShort,ProcessError,TimeoutError
urllib urllib.request getproxies,pathname2url,url2pathname,urlcleanup,urlopen,urlretrieve
urllib urllib.parse quote_plus,quote,unquote_plus,unquote,urlencode
exceptions builtins ArithmeticError,AssertionError,AttributeError,BaseException,BufferError,BytesWarning
exceptions builtins DeprecationWarning,EOFError,EnvironmentError,Exception,FloatingPointError,FutureWarning
exceptions builtins GeneratorExit,IOError,ImportError,ImportWarning,IndentationError,IndexError,KeyError
exceptions builtins KeyboardInterrupt,LookupError,MemoryError,NameError,NotImplementedError,OSError
exceptions builtins OverflowError,PendingDeprecationWarning,ReferenceError,RuntimeError,RuntimeWarning
exceptions builtins StopIteration,SyntaxError,SyntaxWarning,SystemError,SystemExit,TabError,TypeError
exceptions builtins UnboundLocalError,UnicodeDecodeError,UnicodeEncodeError,UnicodeError
exceptions builtins UnicodeTranslateError,UnicodeWarning,UserWarning,ValueError,Warning,ZeroDivisionError
`

// compatNamesRead are read only (NAME_MAPPING's one-way entries, and
// WindowsError, which CPython maps only where it exists).
const compatNamesRead = `
__builtin__ basestring builtins str
exceptions StandardError builtins Exception
UserDict UserDict collections UserDict
socket _socketobject socket SocketType
exceptions builtins WindowsError
`

// compatNamesWrite are written only (REVERSE_NAME_MAPPING's own entries), in
// the same "python2 ... python3" order as the tables above.
const compatNamesWrite = `
__builtin__ reduce _functools reduce
FileDialog tkinter.filedialog FileDialog,LoadFileDialog,SaveFileDialog
SimpleDialog tkinter.simpledialog SimpleDialog
DocXMLRPCServer xmlrpc.server ServerHTMLDoc,XMLRPCDocGenerator,DocXMLRPCRequestHandler,DocXMLRPCServer,DocCGIXMLRPCRequestHandler
SimpleHTTPServer http.server SimpleHTTPRequestHandler
CGIHTTPServer http.server CGIHTTPRequestHandler
socket _socketobject _socket socket
exceptions ImportError builtins ModuleNotFoundError
exceptions OSError builtins BrokenPipeError
exceptions OSError builtins ChildProcessError
exceptions OSError builtins ConnectionAbortedError
exceptions OSError builtins ConnectionError
exceptions OSError builtins ConnectionRefusedError
exceptions OSError builtins ConnectionResetError
exceptions OSError builtins FileExistsError
exceptions OSError builtins FileNotFoundError
exceptions OSError builtins InterruptedError
exceptions OSError builtins IsADirectoryError
exceptions OSError builtins NotADirectoryError
exceptions OSError builtins PermissionError
exceptions OSError builtins ProcessLookupError
exceptions OSError builtins TimeoutError
`

// The decoder reads Python 2 names through py2Modules and py2Names
// (IMPORT_MAPPING, NAME_MAPPING); the encoder writes protocol 2 names through
// py3to2Modules and py3to2Names (the REVERSE_ tables). Names are keyed
// module+"\x00"+name.
var (
	py2Modules, py3to2Modules = compatModuleMaps()
	py2Names, py3to2Names     = compatNameMaps()
)

func compatModuleMaps() (toPy3, toPy2 map[string]string) {
	toPy3, toPy2 = map[string]string{}, map[string]string{}
	each := func(table string, f func(a, b string)) {
		for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
			a, b, _ := strings.Cut(line, " ")
			f(a, b)
		}
	}
	each(compatModules, func(py2, py3 string) { toPy3[py2], toPy2[py3] = py3, py2 })
	each(compatModulesRead, func(py2, py3 string) { toPy3[py2] = py3 })
	each(compatModulesWrite, func(py3, py2 string) { toPy2[py3] = py2 })
	return toPy3, toPy2
}

func compatNameMaps() (toPy3, toPy2 map[string][2]string) {
	toPy3, toPy2 = map[string][2]string{}, map[string][2]string{}
	each := func(table string, f func(py2, py3 [2]string)) {
		for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
			w := strings.Fields(line)
			if len(w) == 3 { // module2 module3 name,name...: the same names
				for _, n := range strings.Split(w[2], ",") {
					f([2]string{w[0], n}, [2]string{w[1], n})
				}
				continue
			}
			f([2]string{w[0], w[1]}, [2]string{w[2], w[3]})
		}
	}
	key := func(n [2]string) string { return n[0] + "\x00" + n[1] }
	each(compatNames, func(py2, py3 [2]string) { toPy3[key(py2)], toPy2[key(py3)] = py3, py2 })
	each(compatNamesRead, func(py2, py3 [2]string) { toPy3[key(py2)] = py3 })
	each(compatNamesWrite, func(py2, py3 [2]string) { toPy2[key(py3)] = py2 })
	return toPy3, toPy2
}

// py2Name maps a Python 2 global to its Python 3 name, as the unpickler does
// for protocols 0-2 (NAME_MAPPING first, then IMPORT_MAPPING).
func py2Name(module, name string) (string, string) {
	if m, ok := py2Names[module+"\x00"+name]; ok {
		return m[0], m[1]
	}
	if m, ok := py2Modules[module]; ok {
		return m, name
	}
	return module, name
}

// py2Global is the name protocol 2 writes for module.name: the Python 2 name
// as CPython's fix_imports gives it (REVERSE_NAME_MAPPING, then
// REVERSE_IMPORT_MAPPING), or the name itself when the reader would map the
// Python 2 name to another one; false when neither reads back as module.name.
func py2Global(module, name string) (string, string, bool) {
	m, n := module, name
	if r, ok := py3to2Names[module+"\x00"+name]; ok {
		m, n = r[0], r[1]
	} else if r, ok := py3to2Modules[module]; ok {
		m = r
	}
	for _, c := range [][2]string{{m, n}, {module, name}} {
		if bm, bn := py2Name(c[0], c[1]); bm == module && bn == name {
			return c[0], c[1], true
		}
	}
	return "", "", false
}
