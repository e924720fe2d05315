// Package sip is the SIP side of wasmvoice, built on sipgo: UDP/TCP/TLS
// listeners, the front door that every inbound INVITE passes (Max-Forwards,
// loop detection, application lookup, region and source-IP allowlists, digest
// authentication with signed nonces, user-part checks, X-* header stripping),
// and the B2BUA legs the call engine drives: InboundCall for the server side
// of an accepted INVITE and OutboundCall, placed with Server.Dial.
//
// An INVITE whose Request-URI user part is a phone number
// (sip:+14150000000@<domain>, as SIP trunks send) is routed through the
// Numbers interface when the Applications value implements it: the number's
// routes authorize the sender by source address or by digest against
// register credentials, and the accepted call carries the route
// (InboundCall.Number) and the application it leads to.
//
// Every rejection is answered at once from the request alone: no dialog and
// no call record is created, the server transaction is dropped as soon as
// the response is written, and the reason goes to the log and to the
// wasmvoice_sip_rejections_total metric, never to the caller.
package sip
