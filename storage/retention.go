// Package storage keeps recording media: today files under the data
// directory, indexed by the store, and the retention sweep that removes
// them when they are old.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/wasmvoice/wasmvoice/store"
)

// DefaultRetention is how long recordings are kept (--recording-retention).
const DefaultRetention = 30 * 24 * time.Hour

// sweepBatch is how many recordings one query of a sweep takes: small
// enough that a sweep after a long outage never holds a large result.
const sweepBatch = 100

// SweepOptions configure a Sweeper.
type SweepOptions struct {
	// Retention is the age (from its start) past which a recording, its
	// media and its metadata are deleted. It must be positive.
	Retention time.Duration
	// Interval between sweeps (default: a twenty-fourth of Retention,
	// between 1 s and 1 h); each waits up to a fifth more or less, so
	// nodes that started together do not sweep together.
	Interval time.Duration
	Logger   *slog.Logger
	// Media is where the recordings' media lives (nil: local files).
	Media *Media
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Sweeper deletes recordings older than the retention. One runs per node
// (server starts it); sweeps of two nodes sharing a database would only
// find each other's deletions done.
type Sweeper struct {
	store *store.Store
	opts  SweepOptions
	log   *slog.Logger
}

// NewSweeper returns a sweeper of st's recordings.
func NewSweeper(st *store.Store, opts SweepOptions) (*Sweeper, error) {
	if opts.Retention <= 0 {
		return nil, fmt.Errorf("storage: recording retention must be positive, got %s", opts.Retention)
	}
	if opts.Interval <= 0 {
		opts.Interval = min(max(opts.Retention/24, time.Second), time.Hour)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Media == nil {
		opts.Media = NewMedia(nil, opts.Logger)
	}
	return &Sweeper{store: st, opts: opts, log: opts.Logger.With("caller", "retention")}, nil
}

// Run sweeps at once and then every interval, with jitter, until ctx ends.
// A failed sweep is logged and tried again at the next one.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("recording retention sweep", "deleted", n, "error", err)
		} else if n > 0 {
			s.log.Info("recording retention sweep", "deleted", n, "retention", s.opts.Retention)
		}
		t.Reset(jitter(s.opts.Interval))
	}
}

// jitter is d, give or take a fifth.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// Sweep deletes the recordings (of calls and of conferences) that started
// before the retention, media then metadata, and returns how many it
// deleted.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	cutoff := s.opts.Now().Add(-s.opts.Retention)
	deleted, err := s.sweepConferences(ctx, cutoff)
	if err != nil {
		return deleted, err
	}
	for {
		rs, err := s.store.RecordingsBefore(ctx, cutoff, sweepBatch)
		if err != nil {
			return deleted, err
		}
		for _, r := range rs {
			if err := s.delete(ctx, r); err != nil {
				return deleted, err
			}
			deleted++
		}
		if len(rs) < sweepBatch {
			return deleted, nil
		}
	}
}

// delete removes one recording: the file first, so a failure leaves the
// index entry and the next sweep tries again, never a file nothing names.
func (s *Sweeper) delete(ctx context.Context, r store.RecordingRecord) error {
	if err := s.opts.Media.Remove(ctx, r.FilePath); err != nil {
		return fmt.Errorf("recording %s: %w", r.ID, err)
	}
	if _, err := s.store.DeleteRecording(ctx, r.AccountID, r.CallID, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.log.Debug("recording expired", "recordingId", r.ID, "callId", r.CallID, "accountId", r.AccountID, "startTime", r.StartTime)
	return nil
}

// sweepConferences deletes the conference recordings older than cutoff.
func (s *Sweeper) sweepConferences(ctx context.Context, cutoff time.Time) (int, error) {
	deleted := 0
	for {
		rs, err := s.store.ConferenceRecordingsBefore(ctx, cutoff, sweepBatch)
		if err != nil {
			return deleted, err
		}
		for _, r := range rs {
			if err := s.opts.Media.Remove(ctx, r.FilePath); err != nil {
				return deleted, fmt.Errorf("conference recording %s: %w", r.ID, err)
			}
			if err := s.store.DeleteConferenceRecording(ctx, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return deleted, err
			}
			s.log.Debug("conference recording expired", "recordingId", r.ID, "conferenceId", r.ConferenceID, "accountId", r.AccountID)
			deleted++
		}
		if len(rs) < sweepBatch {
			return deleted, nil
		}
	}
}
