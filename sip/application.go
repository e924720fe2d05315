package sip

import (
	"context"
	"errors"
	"net/netip"
)

// ErrApplicationNotFound is returned by Applications when no application has
// the given ID. The front door answers it exactly like bad credentials.
var ErrApplicationNotFound = errors.New("sip: application not found")

// Application is what the front door needs to know about a voice application.
type Application struct {
	ID        string
	AccountID string
	// InboundEnabled is the application's inboundSipCallsEnabled setting.
	InboundEnabled bool
	// PasswordAuth is passwordAuthEnabled: INVITEs must carry digest
	// credentials checked against HA1MD5 / HA1SHA256.
	PasswordAuth bool
	// HA1MD5 and HA1SHA256 are the lowercase hex MD5 and SHA-256 of
	// "<applicationId>:<realm>:<password>" with realm = the SIP domain
	// (RFC 7616, RFC 8760). The password itself is never stored.
	HA1MD5, HA1SHA256 string
	// AllowedSourceIPs empty means any source address.
	AllowedSourceIPs []netip.Prefix
	// AllowedRegions empty means every region.
	AllowedRegions []string
	// DigestAlgorithms are the challenges this application sends, most
	// preferred first; empty is the node's Config.DigestAlgorithms.
	DigestAlgorithms []string
}

// Applications looks voice applications up by ID; the store implements it.
// It returns an error wrapping ErrApplicationNotFound for unknown IDs.
type Applications interface {
	SIPApplication(ctx context.Context, applicationID string) (Application, error)
}

// allowsRegion reports whether region is allowed (an empty list allows all).
func (a *Application) allowsRegion(region string) bool {
	if len(a.AllowedRegions) == 0 {
		return true
	}
	for _, r := range a.AllowedRegions {
		if r == region {
			return true
		}
	}
	return false
}

// allowsSource reports whether ip is inside one of the allowed prefixes (an
// empty list allows all).
func (a *Application) allowsSource(ip netip.Addr) bool {
	if len(a.AllowedSourceIPs) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a.AllowedSourceIPs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
