package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wasmvoice/wasmvoice/bxml"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/store"
)

// MaxConferenceMembers caps a conference: past it <Conference> fails for
// the joining call (the call ends with an error saying so).
const MaxConferenceMembers = media.DefaultMaxMembers

var (
	conferencesLive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_conferences_live", Help: "Conferences up right now.",
	})
	conferenceMembers = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "wasmvoice_conference_members_live", Help: "Calls in a conference right now.",
	})
)

// ErrConferenceNotActive is returned for a conference that is not live on
// this node (ended, or never existed).
var ErrConferenceNotActive = errors.New("conference is not active")

// ErrNotMember is returned for a call that is not in the conference.
var ErrNotMember = errors.New("call is not a member of the conference")

// conferences is the engine's registry of live conferences, by ID and by
// account and name (a <Conference> with the name of a live conference of
// the account joins it; otherwise it creates a new one).
type conferences struct {
	mu     sync.Mutex
	byID   map[string]*conference
	byName map[string]*conference // accountID + "\x00" + name
}

// conference is one live conference: its mixer, members and callbacks.
type conference struct {
	e         *Engine
	id        string
	accountID string
	name      string
	created   time.Time
	// creator is the call whose <Conference> created it: conference-wide
	// events (created, completed, redirect) go through its application
	// (webhook or module), relative to its document.
	creator *Call
	base    string
	target  bxml.Target
	mx      *media.Mixer

	ctx    context.Context // ends when the conference completes
	cancel context.CancelFunc

	// members and done are guarded by the registry's mu.
	members map[string]*confMember
	done    bool

	mu     sync.Mutex
	tag    string
	rec    *confRecording // the recording of the mix, nil when none runs
	closed bool           // events is closed
	events chan confEvent // to the notifier, in order
	runner confRunner
	once   sync.Once
}

// confMember is one call in a conference.
type confMember struct {
	call *Call
	mb   *media.Member // nil until the mixer took it
	rec  store.ConferenceMemberRecord
}

func confKey(accountID, name string) string { return accountID + "\x00" + name }

// conferenceFor returns the live conference named v.Name of c's account,
// creating it, and reserves c's place in it.
func (e *Engine) conferenceFor(c *Call, v *bxml.Conference) (*conference, bool, error) {
	r := &e.confs
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID, r.byName = map[string]*conference{}, map[string]*conference{}
	}
	key := confKey(c.app.AccountID, v.Name)
	conf := r.byName[key]
	created := false
	if conf == nil {
		var err error
		if conf, err = e.newConference(c, v); err != nil {
			return nil, false, err
		}
		created = true
		r.byID[conf.id], r.byName[key] = conf, conf
	}
	if _, ok := conf.members[c.id]; ok {
		return nil, false, fmt.Errorf("call %s is already in conference %s", c.id, conf.id)
	}
	if len(conf.members) >= MaxConferenceMembers {
		return nil, false, fmt.Errorf("conference %q is full (%d members)", v.Name, MaxConferenceMembers)
	}
	conf.members[c.id] = &confMember{call: c}
	return conf, created, nil
}

// newConference makes the conference v names and records it, before any
// member can be recorded in it (registry mu held: a second caller of the
// name waits for the record).
func (e *Engine) newConference(c *Call, v *bxml.Conference) (*conference, error) {
	t := v.ConferenceEventTarget()
	t.Timeout = time.Duration(v.CallbackTimeout * float64(time.Second))
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	conf := &conference{
		e: e, id: "conf-" + uuid.NewString(), accountID: c.app.AccountID, name: v.Name, created: time.Now().UTC(),
		creator: c, base: base, target: t, mx: e.media.NewMixer(media.MixerOptions{MaxMembers: MaxConferenceMembers}),
		ctx: ctx, cancel: cancel, members: map[string]*confMember{}, events: make(chan confEvent, confEventQueue),
	}
	if v.Tag != nil {
		conf.tag = *v.Tag
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	rec := store.ConferenceRecord{ID: conf.id, AccountID: conf.accountID, Name: conf.name, ConferenceEventURL: v.ConferenceEventURL,
		ConferenceEventMethod: v.ConferenceEventMethod, Tag: conf.tag, CreatedTime: conf.created}
	if err := e.store.CreateConference(sctx, rec); err != nil {
		cancel()
		return nil, fmt.Errorf("conference %q: %w", v.Name, err)
	}
	e.wg.Add(1)
	go conf.notifier()
	conferencesLive.Inc()
	return conf, nil
}

// Conference returns the live conference of the account.
func (e *Engine) conference(accountID, id string) (*conference, error) {
	r := &e.confs
	r.mu.Lock()
	defer r.mu.Unlock()
	conf, ok := r.byID[id]
	if !ok || conf.accountID != accountID || conf.done {
		return nil, fmt.Errorf("conference %s: %w", id, ErrConferenceNotActive)
	}
	return conf, nil
}

// leave takes c's place back; the conference completes when it was the
// last member.
func (conf *conference) leave(c *Call) {
	r := &conf.e.confs
	r.mu.Lock()
	delete(conf.members, c.id)
	last := len(conf.members) == 0
	if last {
		conf.markDoneLocked()
	}
	r.mu.Unlock()
	if last {
		conf.complete()
	}
}

// markDoneLocked takes the conference out of the registry's names, so the
// next <Conference> of that name creates a new one (registry mu held).
func (conf *conference) markDoneLocked() {
	r := &conf.e.confs
	conf.done = true
	if r.byName[confKey(conf.accountID, conf.name)] == conf {
		delete(r.byName, confKey(conf.accountID, conf.name))
	}
}

// end completes the conference (updateConference status=completed): every
// member leaves and goes on with its document; the last one to leave
// completes it, so each conferenceMemberExit goes before
// conferenceCompleted.
func (conf *conference) end() {
	r := &conf.e.confs
	r.mu.Lock()
	conf.markDoneLocked()
	empty := len(conf.members) == 0
	r.mu.Unlock()
	conf.mx.Close()
	if empty {
		conf.complete()
	}
}

// complete ends the conference once: members out, recording indexed,
// record completed, conferenceCompleted sent, registry entry dropped.
func (conf *conference) complete() {
	conf.once.Do(func() {
		conf.runner.stop()
		conf.stopRecording()
		conf.mx.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := conf.e.store.CompleteConference(ctx, conf.id, time.Now()); err != nil {
			conf.e.log.Warn("conference completed", "conferenceId", conf.id, "error", err)
		}
		conf.notify(&bxml.ConferenceCompletedEvent{ConferenceEvent: conf.eventBase()}, conf.creator)
		conf.closeEvents() // the notifier drains them and returns
		conf.cancel()
		conferencesLive.Dec()
		r := &conf.e.confs
		r.mu.Lock()
		delete(r.byID, conf.id)
		r.mu.Unlock()
		conf.e.log.Info("conference completed", "conferenceId", conf.id, "accountId", conf.accountID)
	})
}

func (conf *conference) eventBase() bxml.ConferenceEvent {
	conf.mu.Lock()
	defer conf.mu.Unlock()
	return bxml.ConferenceEvent{ConferenceID: conf.id, Name: conf.name, Tag: conf.tag}
}

// parseCoach reads callIdsToCoach: comma-separated call IDs ("" coaches
// nobody).
func parseCoach(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// Conference implements bxml.ConferenceCall: the call joins the conference
// and stays until it hangs up (ctx), is redirected away (ctx), or the
// conference completes; then its document goes on.
func (c *Call) Conference(ctx context.Context, v *bxml.Conference) error {
	conf, created, err := c.e.conferenceFor(c, v)
	if err != nil {
		return err
	}
	defer conf.leave(c)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if created {
		c.logf(slog.LevelInfo, "conference", "created conference %s (%s)", conf.id, conf.name)
		conf.notify(&bxml.ConferenceCreatedEvent{ConferenceEvent: conf.eventBase()}, c)
	}
	coach := parseCoach(v.CallIdsToCoach)
	mb, err := conf.mx.Join(c.id, c.leg, media.MemberOptions{Mute: v.Mute, Hold: v.Hold, Coach: coach})
	if err != nil {
		return fmt.Errorf("joining conference %s: %w", conf.id, err)
	}
	m := store.ConferenceMemberRecord{ConferenceID: conf.id, CallID: c.id, Mute: v.Mute, Hold: v.Hold, CallIDsToCoach: coach, JoinTime: time.Now().UTC()}
	conf.setMember(c.id, mb, m)
	if err := c.e.store.SaveConferenceMember(sctx, m); err != nil {
		mb.Leave()
		return fmt.Errorf("conference %s: %w", conf.id, err)
	}
	c.logf(slog.LevelInfo, "conference", "joined conference %s (%s)", conf.id, conf.name)
	conf.notify(conf.memberEvent(c, false), c)
	conferenceMembers.Inc()
	runErr := mb.Run(ctx)
	conferenceMembers.Dec()
	ectx, ecancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ecancel()
	if err := c.e.store.ExitConferenceMember(ectx, conf.id, c.id, time.Now()); err != nil {
		c.logf(slog.LevelWarn, "conference", "%v", err)
	}
	c.logf(slog.LevelInfo, "conference", "left conference %s", conf.id)
	conf.notify(conf.memberEvent(c, true), c)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("conference %s: %w", conf.id, runErr)
	}
	return nil
}

func (conf *conference) setMember(callID string, mb *media.Member, rec store.ConferenceMemberRecord) {
	r := &conf.e.confs
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := conf.members[callID]; ok {
		m.mb, m.rec = mb, rec
	}
}

func (conf *conference) memberEvent(c *Call, exit bool) *bxml.ConferenceMemberEvent {
	info := c.snapshotInfo()
	return &bxml.ConferenceMemberEvent{ConferenceEvent: conf.eventBase(), Exit: exit, From: info.From, To: info.To, CallID: c.id}
}

// MemberUpdate is updateConferenceMember: nil fields keep their value.
type MemberUpdate struct {
	Mute, Hold *bool
	// Coach replaces callIdsToCoach when set (an empty list: coaches
	// nobody).
	Coach *[]string
}

// UpdateConferenceMember mutes, holds or changes whom a member coaches.
func (e *Engine) UpdateConferenceMember(accountID, conferenceID, callID string, u MemberUpdate) error {
	conf, err := e.conference(accountID, conferenceID)
	if err != nil {
		return err
	}
	r := &e.confs
	r.mu.Lock()
	m, ok := conf.members[callID]
	if !ok || m.mb == nil {
		r.mu.Unlock()
		return fmt.Errorf("call %s: %w", callID, ErrNotMember)
	}
	if u.Mute != nil {
		m.mb.SetMute(*u.Mute)
		m.rec.Mute = *u.Mute
	}
	if u.Hold != nil {
		m.mb.SetHold(*u.Hold)
		m.rec.Hold = *u.Hold
	}
	if u.Coach != nil {
		coach := *u.Coach
		if len(coach) == 0 {
			coach = nil
		}
		m.mb.SetCoaching(coach)
		m.rec.CallIDsToCoach = coach
	}
	rec := m.rec
	call := m.call
	r.mu.Unlock()
	call.logf(slog.LevelInfo, "api", "conference member updated: mute=%v hold=%v coaching=%v", rec.Mute, rec.Hold, rec.CallIDsToCoach)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.store.UpdateConferenceMember(ctx, rec)
}

// CompleteConference ends a live conference (updateConference
// status=completed).
func (e *Engine) CompleteConference(accountID, id string) error {
	conf, err := e.conference(accountID, id)
	if err != nil {
		return err
	}
	conf.end()
	return nil
}

// stopConferences completes every live conference (Shutdown).
func (e *Engine) stopConferences() {
	r := &e.confs
	r.mu.Lock()
	all := make([]*conference, 0, len(r.byID))
	for _, conf := range r.byID {
		all = append(all, conf)
	}
	r.mu.Unlock()
	for _, conf := range all {
		conf.end()
	}
}
