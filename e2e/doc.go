// Package e2e drives the real wasmvoice binary with real peers (sipp,
// baresip) over 127.0.0.1: it builds the binary once, starts it per test
// with a temporary data dir and free ports, provisions through the public
// HTTP API only, and prints the call's SIP trace when a call test fails.
// TestConsoleInBrowser drives the web console the same way, in headless
// Chromium (chromedp).
//
// The package has no non-test code; e2e/bench holds the load benchmarks.
package e2e
