package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var metricRegisters = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "wasmvoice_sip_registers_total",
	Help: "REGISTER attempts to customers' PBXes by result (ok, refused, error).",
}, []string{"result"})

// ErrRegisterRefused wraps a registrar's final error response to a REGISTER.
var ErrRegisterRefused = errors.New("sip: register refused")

// RegisterRequest is one binding the server keeps at a registrar (a
// customer's PBX, for numbers whose inbound auth_mode is register).
type RegisterRequest struct {
	// Registrar is the PBX's URI: "sip:pbx.example.com:5060;transport=tcp".
	Registrar string
	// Username is the user part of the address of record and the digest
	// username; Password answers the registrar's 401/407.
	Username, Password string
	// Expires is the binding lifetime asked for (default 300 s).
	Expires time.Duration
}

// RegistrationStatus is what a Registration last achieved.
type RegistrationStatus struct {
	Registered  bool
	Expires     time.Time // when the current binding lapses (zero when none)
	LastAttempt time.Time
	Err         error // the last failure, nil after a success
}

// Registration keeps one binding registered, refreshing it before expiry
// and retrying failures with backoff, until Close.
type Registration struct {
	srv    *Server
	req    RegisterRequest
	callID string
	cseq   atomic.Uint32

	status atomic.Pointer[RegistrationStatus]
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

const (
	defaultRegisterExpiry = 300 * time.Second
	registerRetryMin      = 2 * time.Second
	registerRetryMax      = 5 * time.Minute
)

// StartRegistration registers r now and keeps it registered in the
// background. The Registration's goroutine ends with Close or the server.
func (s *Server) StartRegistration(r RegisterRequest) *Registration {
	if r.Expires <= 0 {
		r.Expires = defaultRegisterExpiry
	}
	ctx, cancel := context.WithCancel(s.ctx)
	reg := &Registration{srv: s, req: r, callID: uuid.NewString(), cancel: cancel, done: make(chan struct{})}
	reg.status.Store(&RegistrationStatus{})
	go reg.run(ctx)
	return reg
}

// Status returns the registration's current state.
func (r *Registration) Status() RegistrationStatus { return *r.status.Load() }

// Close stops refreshing and, when a binding is up, removes it (Expires: 0)
// within ctx.
func (r *Registration) Close(ctx context.Context) error {
	var err error
	r.once.Do(func() {
		r.cancel()
		<-r.done
		if r.Status().Registered {
			_, err = r.register(ctx, 0)
		}
	})
	return err
}

func (r *Registration) run(ctx context.Context) {
	defer close(r.done)
	retry := registerRetryMin
	for {
		now := time.Now()
		granted, err := r.register(ctx, r.req.Expires)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		if err != nil {
			r.srv.log.Warn("sip register failed", "registrar", r.req.Registrar, "username", r.req.Username, "error", err)
			prev := r.Status()
			r.status.Store(&RegistrationStatus{Registered: prev.Registered && now.Before(prev.Expires), Expires: prev.Expires, LastAttempt: now, Err: err})
			wait, retry = retry, min(retry*2, registerRetryMax)
		} else {
			r.status.Store(&RegistrationStatus{Registered: true, Expires: now.Add(granted), LastAttempt: now})
			retry = registerRetryMin
			// Refresh well before the binding lapses, leaving time for a
			// challenge round trip and a retry.
			wait = granted - min(granted/4, 60*time.Second)
			wait = max(wait, time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// register sends one REGISTER asking for expires, answering a challenge, and
// returns the lifetime the registrar granted.
func (r *Registration) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	req, err := r.newRequest(expires)
	if err != nil {
		metricRegisters.WithLabelValues("error").Inc()
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	res, err := r.srv.client.Do(rctx, req)
	if err == nil && (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && r.req.Password != "" {
		r.cseq.Add(1) // sipgo bumps the request's CSeq for the retry
		res, err = r.srv.client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: r.req.Username, Password: r.req.Password})
	}
	if err != nil {
		metricRegisters.WithLabelValues("error").Inc()
		return 0, fmt.Errorf("sip: register %s at %s: %w", r.req.Username, r.req.Registrar, err)
	}
	if !res.IsSuccess() {
		metricRegisters.WithLabelValues("refused").Inc()
		return 0, fmt.Errorf("%w: %d %s", ErrRegisterRefused, res.StatusCode, res.Reason)
	}
	metricRegisters.WithLabelValues("ok").Inc()
	return grantedExpiry(res, expires), nil
}

func (r *Registration) newRequest(expires time.Duration) (*sip.Request, error) {
	var registrar sip.Uri
	if err := sip.ParseUri(r.req.Registrar, &registrar); err != nil {
		return nil, fmt.Errorf("sip: registrar %q: %w", r.req.Registrar, err)
	}
	transport := "UDP"
	if registrar.UriParams != nil {
		if t, ok := registrar.UriParams.Get("transport"); ok && t != "" {
			transport = sip.NetworkToUpper(t)
		}
	}
	req := sip.NewRequest(sip.REGISTER, registrar)
	req.SetTransport(transport)
	aor := sip.Uri{Scheme: "sip", User: r.req.Username, Host: registrar.Host}
	from := sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := sip.ToHeader{Address: aor}
	callID := sip.CallIDHeader(r.callID)
	contact := r.srv.contactFor(transport)
	contact.Address.User = r.req.Username
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq.Add(1), MethodName: sip.REGISTER})
	req.AppendHeader(&contact)
	exp := sip.ExpiresHeader(uint32(expires / time.Second))
	req.AppendHeader(&exp)
	req.AppendHeader(sip.NewHeader("User-Agent", r.srv.cfg.UserAgent))
	r.srv.sendFromListener(req)
	return req, nil
}

// grantedExpiry reads the lifetime a 2xx granted: our Contact's expires
// parameter, else the Expires header, else what was asked.
func grantedExpiry(res *sip.Response, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok && c.Params != nil {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
