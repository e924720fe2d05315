// Command badimport imports a host function outside the allowed namespaces;
// the host must refuse it at Compile.
package main

import "github.com/wasmvoice/wasmvoice/sdk"

//go:wasmimport env sneaky
func sneaky() int32

func init() {
	sdk.Handle(func(sdk.Event) sdk.Decision {
		if sneaky() != 0 {
			return sdk.Fail(nil)
		}
		return sdk.BXML("<Response/>")
	})
}

func main() {}
