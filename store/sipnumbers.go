package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/wasmvoice/wasmvoice/headermap"
)

// Numbers: attach, update, detach and list the SIP configurations of an
// account's phone numbers.

// AttachRequest attaches SIP configurations to numbers.
type AttachRequest struct {
	AccountID    string
	Numbers      []string // as sent
	NumbersField string   // "phone_number" or "phone_numbers", for error locations
	TrunkID      string
	Directions   []DirectionSpec
}

// NumberFailure is a number that was not configured, and why.
type NumberFailure struct {
	PhoneNumber string
	Reason      string
}

// AttachResult separates configured numbers from failed ones.
type AttachResult struct {
	Configured  []string // normalized
	Failed      []NumberFailure
	PBXPassword string // derived register password, when an inbound direction uses register auth
}

// numberRejected marks a per-number failure (reported, not returned).
type numberRejected struct{ reason string }

func (e *numberRejected) Error() string { return e.reason }

// AttachSIP validates the request (a *ValidationError for anything wrong
// with the payload as a whole) and then configures each number in its own
// transaction: a number either gets every direction or none, and its failure
// (bad number, 10 configurations already, inbound owned by another account)
// is reported without stopping the others.
func (s *Store) AttachSIP(ctx context.Context, req AttachRequest) (AttachResult, error) {
	if len(req.Numbers) == 0 {
		return AttachResult{}, invalid(req.NumbersField, nil, "required: phone_number or phone_numbers")
	}
	if len(req.Numbers) > MaxNumbersPerRequest {
		return AttachResult{}, invalid(req.NumbersField, len(req.Numbers), "at most %d numbers per request, got %d", MaxNumbersPerRequest, len(req.Numbers))
	}
	var trunk *SIPTrunk
	if req.TrunkID != "" {
		t, err := s.SIPTrunk(ctx, req.AccountID, req.TrunkID)
		if isNotFound(err) {
			return AttachResult{}, invalid("trunk_id", req.TrunkID, "no trunk %s in this account", req.TrunkID)
		}
		if err != nil {
			return AttachResult{}, err
		}
		trunk = &t
	}
	if len(req.Directions) == 0 {
		return AttachResult{}, invalid("directions", nil, "required: at least one of inbound and outbound")
	}
	if len(req.Directions) > 2 {
		return AttachResult{}, invalid("directions", len(req.Directions), "at most two entries (inbound and outbound)")
	}
	templates := make([]SIPConfiguration, 0, len(req.Directions))
	var res AttachResult
	for i, sp := range req.Directions {
		prefix := fmt.Sprintf("directions[%d]", i)
		if _, err := ParseDirection(prefix+".type", string(sp.Direction)); err != nil {
			return AttachResult{}, err
		}
		for _, t := range templates {
			if t.Direction == sp.Direction {
				return AttachResult{}, invalid(prefix+".type", sp.Direction, "%s is listed twice", sp.Direction)
			}
		}
		c := SIPConfiguration{AccountID: req.AccountID, Direction: sp.Direction, TrunkID: req.TrunkID}
		if _, err := sp.Apply(&c, trunk, prefix); err != nil {
			return AttachResult{}, err
		}
		if err := s.checkSIPApplication(ctx, req.AccountID, c.ApplicationID, prefix); err != nil {
			return AttachResult{}, err
		}
		if pw := c.PBXPassword(); pw != "" {
			res.PBXPassword = pw
		}
		templates = append(templates, c)
	}
	res.Configured, res.Failed = []string{}, []NumberFailure{}
	seen := make(map[string]bool, len(req.Numbers))
	for i, raw := range req.Numbers {
		num, err := NormalizePhoneNumber(raw, trunk != nil)
		if err != nil {
			if len(req.Numbers) == 1 && req.NumbersField == "phone_number" {
				return AttachResult{}, invalid("phone_number", raw, "%s", err.Error())
			}
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: raw, Reason: fmt.Sprintf("phone_numbers[%d]: %s", i, err)})
			continue
		}
		if seen[num] {
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: raw, Reason: fmt.Sprintf("phone_numbers[%d]: %s is listed twice", i, num)})
			continue
		}
		seen[num] = true
		err = s.attachNumber(ctx, req.AccountID, num, templates)
		var nr *numberRejected
		switch {
		case errors.As(err, &nr):
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: num, Reason: nr.reason})
		case err != nil:
			return AttachResult{}, err
		default:
			res.Configured = append(res.Configured, num)
		}
	}
	if len(res.Configured) == 0 {
		res.PBXPassword = ""
	}
	return res, nil
}

func (s *Store) attachNumber(ctx context.Context, accountID, number string, templates []SIPConfiguration) error {
	return retryBusyErr(ctx, s, func() error { return s.attachNumberTx(ctx, accountID, number, templates) })
}

// attachNumberTx is one attempt of attachNumber: the count of the number's
// configurations and the writes in one checked transaction.
func (s *Store) attachNumberTx(ctx context.Context, accountID, number string, templates []SIPConfiguration) error {
	tx, err := s.beginCheckedTx(ctx)
	if err != nil {
		return fmt.Errorf("attach %s: %w", number, err)
	}
	defer tx.Rollback()
	var existing []sipConfigRow
	if err := tx.SelectContext(ctx, &existing, s.rebind("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE account_id = ? AND phone_number = ?"), accountID, number); err != nil {
		return fmt.Errorf("attach %s: %w", number, err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	count := len(existing)
	for _, tpl := range templates {
		c := tpl
		c.PhoneNumber = number
		c.CreatedAt, c.UpdatedAt = now, now
		c.ID = ""
		for _, e := range existing {
			if e.Direction == string(c.Direction) && e.RouteKey == c.TrunkID {
				c.ID, c.CreatedAt = e.ID, e.CreatedAt.UTC()
			}
		}
		if c.ID == "" {
			count++
			if count > MaxConfigurationsPerNumber {
				return &numberRejected{fmt.Sprintf("%s already has %d SIP configurations; at most %d are allowed per number", number, len(existing), MaxConfigurationsPerNumber)}
			}
			c.ID = uuid.NewString()
		}
		if c.Direction == headermap.Inbound && c.TrunkID == "" {
			// Without a trunk, the number alone routes an inbound call, so it
			// must lead to one account only.
			var other int
			if err := tx.GetContext(ctx, &other, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE phone_number = ? AND direction = ? AND route_key = '' AND account_id <> ?"),
				number, string(headermap.Inbound), accountID); err != nil {
				return fmt.Errorf("attach %s: %w", number, err)
			}
			if other > 0 {
				return &numberRejected{fmt.Sprintf("%s is attached for inbound SIP by another account", number)}
			}
		}
		row, err := s.configToRow(c)
		if err != nil {
			return err
		}
		if _, err := tx.NamedExecContext(ctx, "DELETE FROM sip_configurations WHERE id = :id", row); err != nil {
			return fmt.Errorf("attach %s: %w", number, err)
		}
		if _, err := tx.NamedExecContext(ctx, `INSERT INTO sip_configurations (`+sipConfigColumns+`) VALUES (
			:id, :account_id, :phone_number, :direction, :trunk_id, :route_key, :sip_endpoint, :port, :transport,
			:secure_media, :sip_username, :sip_password_sealed, :auth_mode, :register_username, :register_password_sealed,
			:application_id, :headers, :created_at, :updated_at)`, row); err != nil {
			if isForeignKeyViolation(err) {
				return &numberRejected{fmt.Sprintf("trunk %s no longer exists", c.TrunkID)}
			}
			return fmt.Errorf("attach %s: %w", number, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("attach %s: %w", number, err)
	}
	return nil
}

// ResolveSIPNumber finds how an account stored a number it names: as E.164
// (so "(415) 555-0100" finds +14155550100) or, failing that, as a trunk DID
// or extension written as is. A number attached in neither form comes back
// in its E.164 form when it has one, so lookups then miss cleanly.
func (s *Store) ResolveSIPNumber(ctx context.Context, accountID, raw string) (string, error) {
	e164, errE := NormalizePhoneNumber(raw, false)
	did, errD := NormalizePhoneNumber(raw, true)
	if errE != nil && errD != nil {
		return "", invalid("phone_number", raw, "%s", errE.Error())
	}
	if errE != nil || errD != nil || e164 == did {
		if errE == nil {
			return e164, nil
		}
		return did, nil
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE account_id = ? AND phone_number = ?"), accountID, e164); err != nil {
		return "", fmt.Errorf("resolve number %s: %w", raw, err)
	}
	if n > 0 {
		return e164, nil
	}
	if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE account_id = ? AND phone_number = ?"), accountID, did); err != nil {
		return "", fmt.Errorf("resolve number %s: %w", raw, err)
	}
	if n > 0 {
		return did, nil
	}
	return e164, nil
}

// SIPConfigurations returns every configuration of an account's number.
func (s *Store) SIPConfigurations(ctx context.Context, accountID, number string) ([]SIPConfiguration, error) {
	var rows []sipConfigRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE account_id = ? AND phone_number = ? ORDER BY direction, updated_at DESC, id"), accountID, number); err != nil {
		return nil, fmt.Errorf("sip configurations of %s: %w", number, err)
	}
	return s.configsFromRows(rows)
}

// PickSIPConfiguration chooses the configuration of one direction among a
// number's: the one bound to trunkID when given; else the one without a
// trunk; else, when strict is false, the most recently updated. ok is false
// when none fits; ambiguous reports several trunk-bound candidates under strict.
func PickSIPConfiguration(cs []SIPConfiguration, dir headermap.Direction, trunkID string, strict bool) (c SIPConfiguration, ok, ambiguous bool) {
	var cands []SIPConfiguration
	for _, x := range cs {
		if x.Direction != dir {
			continue
		}
		if trunkID != "" {
			if x.TrunkID == trunkID {
				return x, true, false
			}
			continue
		}
		if x.TrunkID == "" {
			return x, true, false
		}
		cands = append(cands, x)
	}
	switch {
	case len(cands) == 0:
		return SIPConfiguration{}, false, false
	case len(cands) > 1 && strict:
		return SIPConfiguration{}, false, true
	}
	best := cands[0]
	for _, x := range cands[1:] {
		if x.UpdatedAt.After(best.UpdatedAt) {
			best = x
		}
	}
	return best, true, false
}

// UpdateSIP changes one direction of a number (partially: fields not sent
// stay). trunkID picks among several configurations of that direction.
func (s *Store) UpdateSIP(ctx context.Context, accountID, rawNumber, trunkID string, sp DirectionSpec) (SIPConfiguration, bool, error) {
	if _, err := ParseDirection("updates.type", string(sp.Direction)); err != nil {
		return SIPConfiguration{}, false, err
	}
	number, err := s.ResolveSIPNumber(ctx, accountID, rawNumber)
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	cs, err := s.SIPConfigurations(ctx, accountID, number)
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	c, ok, ambiguous := PickSIPConfiguration(cs, sp.Direction, trunkID, true)
	if ambiguous {
		return SIPConfiguration{}, false, invalid("trunk_id", "", "%s has several %s configurations on different trunks; name one with trunk_id", number, sp.Direction)
	}
	if !ok {
		return SIPConfiguration{}, false, fmt.Errorf("%s configuration of %s: %w", sp.Direction, number, ErrNotFound)
	}
	var trunk *SIPTrunk
	if c.TrunkID != "" {
		t, err := s.SIPTrunk(ctx, accountID, c.TrunkID)
		if err != nil {
			return SIPConfiguration{}, false, err
		}
		trunk = &t
	}
	regChanged, err := sp.Apply(&c, trunk, "updates")
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	if sp.ApplicationID != nil {
		if err := s.checkSIPApplication(ctx, accountID, c.ApplicationID, "updates"); err != nil {
			return SIPConfiguration{}, false, err
		}
	}
	c.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	row, err := s.configToRow(c)
	if err != nil {
		return SIPConfiguration{}, false, err
	}
	res, err := s.db.NamedExecContext(ctx, `UPDATE sip_configurations SET sip_endpoint = :sip_endpoint, port = :port,
		transport = :transport, secure_media = :secure_media, sip_username = :sip_username,
		sip_password_sealed = :sip_password_sealed, auth_mode = :auth_mode, register_username = :register_username,
		register_password_sealed = :register_password_sealed, application_id = :application_id, headers = :headers, updated_at = :updated_at
		WHERE id = :id AND account_id = :account_id`, row)
	if err != nil {
		return SIPConfiguration{}, false, fmt.Errorf("update sip configuration %s: %w", c.ID, err)
	}
	if err := mustAffect(res, "sip configuration "+c.ID); err != nil {
		return SIPConfiguration{}, false, err
	}
	return c, regChanged, nil
}

// DetachResult separates detached numbers from failed ones.
type DetachResult struct {
	Detached []string
	Failed   []NumberFailure
}

// DetachSIP removes the named directions of numbers: all their
// configurations in those directions, or only those bound to trunkID.
func (s *Store) DetachSIP(ctx context.Context, accountID string, numbers []string, numbersField, trunkID string, dirs []headermap.Direction) (DetachResult, error) {
	if len(numbers) == 0 {
		return DetachResult{}, invalid(numbersField, nil, "required: phone_number or phone_numbers")
	}
	if len(numbers) > MaxNumbersPerRequest {
		return DetachResult{}, invalid(numbersField, len(numbers), "at most %d numbers per request, got %d", MaxNumbersPerRequest, len(numbers))
	}
	if len(dirs) == 0 {
		return DetachResult{}, invalid("directions", nil, "required: inbound and/or outbound")
	}
	res := DetachResult{Detached: []string{}, Failed: []NumberFailure{}}
	for _, raw := range numbers {
		num, err := s.ResolveSIPNumber(ctx, accountID, raw)
		var ve *ValidationError
		switch {
		case errors.As(err, &ve) && numbersField == "phone_number":
			return DetachResult{}, err
		case errors.As(err, &ve):
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: raw, Reason: ve.Reason})
			continue
		case err != nil:
			return DetachResult{}, err
		}
		q, args, err := sqlx.In("DELETE FROM sip_configurations WHERE account_id = ? AND phone_number = ? AND direction IN (?)", accountID, num, dirs)
		if err != nil {
			return DetachResult{}, fmt.Errorf("detach %s: %w", num, err)
		}
		if trunkID != "" {
			q += " AND route_key = ?"
			args = append(args, trunkID)
		}
		r, err := s.db.ExecContext(ctx, s.rebind(q), args...)
		if err != nil {
			return DetachResult{}, fmt.Errorf("detach %s: %w", num, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			reason := "no SIP configuration in the given directions"
			if trunkID != "" {
				reason += " on trunk " + trunkID
			}
			res.Failed = append(res.Failed, NumberFailure{PhoneNumber: num, Reason: reason})
			continue
		}
		res.Detached = append(res.Detached, num)
	}
	return res, nil
}

// SIPNumber is a number and its configurations.
type SIPNumber struct {
	PhoneNumber    string
	Configurations []SIPConfiguration
}

// SIPNumberPage is one page of an account's numbers, in number order.
type SIPNumberPage struct {
	Numbers []SIPNumber
	Total   int    // numbers in the account (under the trunk filter)
	Next    string // cursor of the next page, "" on the last
}

// SIPNumbers pages through an account's numbers with SIP configurations
// (optionally only those bound to trunkID), limit numbers after the cursor.
func (s *Store) SIPNumbers(ctx context.Context, accountID, trunkID, after string, limit int) (SIPNumberPage, error) {
	where, args := "account_id = ?", []any{accountID}
	if trunkID != "" {
		where += " AND route_key = ?"
		args = append(args, trunkID)
	}
	var page SIPNumberPage
	if err := s.db.GetContext(ctx, &page.Total, s.rebind("SELECT COUNT(DISTINCT phone_number) FROM sip_configurations WHERE "+where), args...); err != nil {
		return SIPNumberPage{}, fmt.Errorf("count sip numbers: %w", err)
	}
	var nums []string
	if err := s.db.SelectContext(ctx, &nums, s.rebind("SELECT DISTINCT phone_number FROM sip_configurations WHERE "+where+" AND phone_number > ? ORDER BY phone_number LIMIT ?"),
		append(args, after, limit+1)...); err != nil {
		return SIPNumberPage{}, fmt.Errorf("list sip numbers: %w", err)
	}
	if len(nums) > limit {
		nums = nums[:limit]
		page.Next = nums[limit-1]
	}
	page.Numbers = make([]SIPNumber, 0, len(nums))
	if len(nums) == 0 {
		return page, nil
	}
	q, qargs, err := sqlx.In("SELECT "+sipConfigColumns+" FROM sip_configurations WHERE "+where+" AND phone_number IN (?) ORDER BY phone_number, direction, updated_at DESC, id", append(args, nums)...)
	if err != nil {
		return SIPNumberPage{}, fmt.Errorf("list sip numbers: %w", err)
	}
	var rows []sipConfigRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), qargs...); err != nil {
		return SIPNumberPage{}, fmt.Errorf("list sip numbers: %w", err)
	}
	cs, err := s.configsFromRows(rows)
	if err != nil {
		return SIPNumberPage{}, err
	}
	for _, c := range cs {
		if n := len(page.Numbers); n == 0 || page.Numbers[n-1].PhoneNumber != c.PhoneNumber {
			page.Numbers = append(page.Numbers, SIPNumber{PhoneNumber: c.PhoneNumber})
		}
		last := &page.Numbers[len(page.Numbers)-1]
		last.Configurations = append(last.Configurations, c)
	}
	return page, nil
}
