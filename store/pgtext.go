package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/stdlib"
)

// Text from the network (SIP headers and traces, webhook answers) may hold
// NUL bytes or invalid UTF-8. SQLite keeps them; PostgreSQL refuses the
// whole statement, which would lose a call's record to one odd byte in a
// header. So on PostgreSQL every string argument is made storable first:
// such bytes become U+FFFD, which is what the API's JSON shows for invalid
// UTF-8 on either engine anyway.

// pgConnector hands database/sql connections that check their arguments.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("pgx connector returned %T", conn)
	}
	return pgConn{sc}, nil
}

// pgConn is pgx's connection with CheckNamedValue replaced: database/sql
// calls it for every argument before the driver sees it.
type pgConn struct{ *stdlib.Conn }

func (pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case string:
		nv.Value = storableText(v)
	case *string:
		if v != nil {
			nv.Value = storableText(*v)
		}
	}
	return nil // pgx takes every other type as it is
}

// storableText replaces NUL bytes and invalid UTF-8 with U+FFFD.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
