package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release builds (-ldflags "-X main.version=v1.2.3");
// otherwise the module version or the VCS revision the binary was built
// from stands in.
var version = ""

func versionString() string {
	v, rev, dirty := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev
		if dirty {
			v += ", modified"
		}
		v += ")"
	}
	return fmt.Sprintf("wasmvoice %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
