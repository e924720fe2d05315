package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest algorithms offered, most preferred first (RFC 8760 section 2.4).
const (
	algSHA256 = "SHA-256"
	algMD5    = "MD5"
)

var (
	errNoCredentials  = errors.New("no credentials for our realm")
	errBadCredentials = errors.New("credentials do not verify")
)

// challengeHeaders returns the Proxy-Authenticate (or WWW-Authenticate)
// headers for one nonce, one per algorithm in the order given.
func challengeHeaders(name, realm, nonce string, stale bool, algs []string) []sip.Header {
	hs := make([]sip.Header, 0, len(algs))
	for _, alg := range algs {
		var b strings.Builder
		b.Grow(96 + len(realm) + len(nonce))
		b.WriteString(`Digest realm="`)
		b.WriteString(realm)
		b.WriteString(`", nonce="`)
		b.WriteString(nonce)
		b.WriteString(`", algorithm=`)
		b.WriteString(alg)
		b.WriteString(`, qop="auth"`)
		if stale {
			b.WriteString(`, stale=true`)
		}
		hs = append(hs, sip.NewHeader(name, b.String()))
	}
	return hs
}

// findCredentials returns the parsed digest credentials for realm from
// Proxy-Authorization, or from Authorization for clients answering a 401.
func findCredentials(req *sip.Request, realm string) (*digest.Credentials, error) {
	for _, name := range [...]string{"proxy-authorization", "authorization"} {
		for _, h := range req.GetHeaders(name) {
			cred, err := digest.ParseCredentials(h.Value())
			if err != nil {
				continue
			}
			if strings.EqualFold(cred.Realm, realm) {
				return cred, nil
			}
		}
	}
	return nil, errNoCredentials
}

// verifyDigest checks the response of cred (qop=auth) for method against the
// stored HA1 of its algorithm. The uri parameter must name the host (and
// user, when it has one) of the Request-URI, so credentials cannot be moved
// to another target.
func verifyDigest(cred *digest.Credentials, method string, ruri *sip.Uri, app *Application, offered []string) error {
	if !strings.EqualFold(cred.QOP, "auth") || cred.Cnonce == "" || cred.Nc <= 0 || cred.Nonce == "" {
		return fmt.Errorf("%w: qop=auth with nc and cnonce required", errBadCredentials)
	}
	// Only an algorithm the node offers (no algorithm parameter means MD5,
	// RFC 2617): a node that offers SHA-256 alone takes no MD5 digest.
	alg := strings.ToUpper(cred.Algorithm)
	if alg == "" {
		alg = algMD5
	}
	if !slices.Contains(offered, alg) {
		return fmt.Errorf("%w: algorithm %s not offered", errBadCredentials, alg)
	}
	var ha1 string
	var h hash.Hash
	switch alg {
	case algMD5:
		ha1, h = app.HA1MD5, md5.New()
	case algSHA256:
		ha1, h = app.HA1SHA256, sha256.New()
	default:
		return fmt.Errorf("%w: algorithm %q not supported", errBadCredentials, cred.Algorithm)
	}
	if ha1 == "" {
		return fmt.Errorf("%w: no %s credential stored", errBadCredentials, cred.Algorithm)
	}
	var u sip.Uri
	if err := sip.ParseUri(cred.URI, &u); err != nil {
		return fmt.Errorf("%w: digest uri: %w", errBadCredentials, err)
	}
	// Some clients (sipp among them) leave the user out of the digest uri.
	if (u.User != "" && u.User != ruri.User) || !strings.EqualFold(u.Host, ruri.Host) {
		return fmt.Errorf("%w: digest uri %q is not the Request-URI", errBadCredentials, cred.URI)
	}
	want := digestResponse(h, ha1, cred.Nonce, cred.Nc, cred.Cnonce, method, cred.URI)
	got := strings.ToLower(cred.Response)
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return fmt.Errorf("%w: response mismatch (user %q)", errBadCredentials, cred.Username)
	}
	return nil
}

// digestResponse computes H(HA1:nonce:nc:cnonce:auth:H(method:uri)).
func digestResponse(h hash.Hash, ha1, nonce string, nc int, cnonce, method, uri string) string {
	h.Reset()
	h.Write([]byte(method))
	h.Write([]byte{':'})
	h.Write([]byte(uri))
	var sum [sha256.Size]byte
	ha2 := hex.EncodeToString(h.Sum(sum[:0]))

	ncs := strconv.FormatUint(uint64(uint32(nc)), 16)
	h.Reset()
	h.Write([]byte(ha1))
	h.Write([]byte{':'})
	h.Write([]byte(nonce))
	h.Write([]byte{':'})
	for i := len(ncs); i < 8; i++ {
		h.Write([]byte{'0'})
	}
	h.Write([]byte(ncs))
	h.Write([]byte{':'})
	h.Write([]byte(cnonce))
	h.Write([]byte(":auth:"))
	h.Write([]byte(ha2))
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// HA1 returns the lowercase hex digest HA1 of "username:realm:password" for
// algorithm "MD5" or "SHA-256", the form the store keeps instead of the
// password.
func HA1(algorithm, username, realm, password string) (string, error) {
	var h hash.Hash
	switch strings.ToUpper(algorithm) {
	case algMD5:
		h = md5.New()
	case algSHA256:
		h = sha256.New()
	default:
		return "", errors.New("sip: unsupported digest algorithm " + strconv.Quote(algorithm))
	}
	h.Write([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DigestAlgorithms are the node's default challenges, for applications that
// set none.
func (s *Server) DigestAlgorithms() []string { return slices.Clone(s.cfg.DigestAlgorithms) }
