package media

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// The one SDES suite we offer and accept (RFC 4568 §6.2.1).
const sdesSuite = "AES_CM_128_HMAC_SHA1_80"

// srtpReplayWindow is the replay-protection window for received SRTP/SRTCP.
const srtpReplayWindow = 128

// sdesKey is a master key and salt with the a=crypto tag it was offered under.
type sdesKey struct {
	tag  int
	key  []byte // 16 bytes
	salt []byte // 14 bytes
}

func newSDESKey(tag int) (sdesKey, error) {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return sdesKey{}, fmt.Errorf("media: generating SRTP key: %w", err)
	}
	return sdesKey{tag: tag, key: b[:16], salt: b[16:]}, nil
}

// attribute renders the a=crypto value.
func (k sdesKey) attribute() string {
	keySalt := append(append([]byte(nil), k.key...), k.salt...)
	return strconv.Itoa(k.tag) + " " + sdesSuite + " inline:" + base64.StdEncoding.EncodeToString(keySalt)
}

// parseCrypto parses an a=crypto value. ok is false (no error) for a suite or
// key parameters we do not support, so the caller can try the next line.
func parseCrypto(v string) (k sdesKey, ok bool) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return k, false
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return k, false
	}
	if f[1] != sdesSuite {
		return k, false
	}
	// Session parameters (UNENCRYPTED_SRTP, KDR, ...) change the transform;
	// refuse rather than guess.
	if len(f) > 3 {
		return k, false
	}
	// Only one key; key-params may carry "|lifetime|MKI:len". An MKI would
	// need to be carried in every packet, which we do not do.
	kp := f[2]
	if strings.Contains(kp, ";") || !strings.HasPrefix(kp, "inline:") {
		return k, false
	}
	parts := strings.Split(strings.TrimPrefix(kp, "inline:"), "|")
	for _, p := range parts[1:] {
		if strings.Contains(p, ":") {
			return k, false // MKI
		}
	}
	raw, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil || len(raw) != 30 {
		return k, false
	}
	return sdesKey{tag: tag, key: raw[:16], salt: raw[16:]}, true
}

// srtpContexts are the four transforms one leg needs. RTP and RTCP get their
// own contexts so the two reader goroutines never share one.
type srtpContexts struct {
	rxRTP, rxRTCP *srtp.Context // remote's key: decrypt what we receive
	txRTP, txRTCP *srtp.Context // our key: encrypt what we send
}

func newSRTPContexts(local, remote sdesKey) (*srtpContexts, error) {
	p := srtp.ProtectionProfileAes128CmHmacSha1_80
	mk := func(k sdesKey, rx bool) (*srtp.Context, error) {
		var opts []srtp.ContextOption
		if rx {
			opts = append(opts, srtp.SRTPReplayProtection(srtpReplayWindow), srtp.SRTCPReplayProtection(srtpReplayWindow))
		}
		c, err := srtp.CreateContext(k.key, k.salt, p, opts...)
		if err != nil {
			return nil, fmt.Errorf("media: creating SRTP context: %w", err)
		}
		return c, nil
	}
	var c srtpContexts
	var err error
	if c.rxRTP, err = mk(remote, true); err != nil {
		return nil, err
	}
	if c.rxRTCP, err = mk(remote, true); err != nil {
		return nil, err
	}
	if c.txRTP, err = mk(local, false); err != nil {
		return nil, err
	}
	if c.txRTCP, err = mk(local, false); err != nil {
		return nil, err
	}
	return &c, nil
}
