//go:build !race

package serialtest

// RaceEnabled reports a build with the race detector (tests relax time bounds).
const RaceEnabled = false
