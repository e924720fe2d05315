// Command wasmvoice runs the wasmvoice server and its admin subcommands:
//
//	wasmvoice [flags]                       run the server
//	wasmvoice credentials create [flags]    make API client credentials
//	wasmvoice openapi                       print the OpenAPI document
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/media"
	"github.com/wasmvoice/wasmvoice/server"
	"github.com/wasmvoice/wasmvoice/storage"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		stop()
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // --help asked for the usage: not a failure
		}
		fmt.Fprintln(os.Stderr, "wasmvoice:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(ctx, args[1:], stdout, stderr)
		case "version", "--version", "-version":
			_, err := fmt.Fprintln(stdout, versionString())
			return err
		case "openapi":
			b, err := api.OpenAPIYAML()
			if err != nil {
				return err
			}
			_, err = stdout.Write(b)
			return err
		case "credentials":
			if len(args) < 2 || args[1] != "create" {
				return errors.New("usage: wasmvoice credentials create [--data-dir D] [--database-url URL] [--account ID] [--json]")
			}
			return credentialsCreate(ctx, args[2:], stdout, stderr)
		}
	}
	return serve(ctx, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg server.Config
	var logFormat, logLevel string
	f := newFlags("wasmvoice", stderr)
	f.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wasmvoice [flags]\n       wasmvoice credentials create [--data-dir D] [--account ID] [--json]\n       wasmvoice openapi\n\nRuns the wasmvoice server. Every flag can also be set with the environment variable shown.\n\nFlags:\n")
		f.PrintDefaults()
	}
	f.str(&cfg.DataDir, "data-dir", server.DefaultDataDir(), "directory for the SQLite database (unless --database-url), keys, modules and recordings (created; default $XDG_DATA_HOME/wasmvoice or ~/.local/share/wasmvoice)")
	f.secret(&cfg.DatabaseURL, "database-url", "PostgreSQL database to use instead of SQLite in --data-dir: postgres://user:password@host:5432/dbname (optional pool_max_conns, pool_max_conn_idle_time, pool_max_conn_lifetime)")
	f.str(&cfg.HTTPAddr, "http-addr", server.DefaultHTTPAddr, "address of the HTTP API")
	f.str(&cfg.SIPAddr, "sip-addr", server.DefaultSIPAddr, "SIP address, UDP and TCP")
	f.str(&cfg.SIPTLSAddr, "sip-tls-addr", server.DefaultSIPTLS, "SIP over TLS address, used when --tls-cert and --tls-key are set")
	f.str(&cfg.TLSCert, "tls-cert", "", "PEM certificate for SIP over TLS")
	f.str(&cfg.TLSKey, "tls-key", "", "PEM private key for SIP over TLS")
	f.str(&cfg.SIPDomain, "sip-domain", server.DefaultSIPDomain, "SIP domain: the host of every sipUri and the digest realm")
	f.str(&cfg.Region, "region", server.DefaultRegion, "this node's region (US, EU or ASIA), checked against each application's allowedRegions")
	f.str(&cfg.MediaIP, "media-ip", "", "IP advertised in SDP, Via and Contact (default: the IP of --sip-addr when it names one, else the address of the outbound interface)")
	f.str(&cfg.RTPPorts, "rtp-ports", server.DefaultRTPPorts, "RTP port range min-max (min even; RTCP uses RTP+1)")
	f.boolean(&cfg.G729, "g729", false, "transcode G.729 with the system's libbcg729 (Debian libbcg729-0, GPL-3.0+, loaded at run time only with this flag); without it G.729 is only passed through between legs that both have it")
	f.duration(&cfg.MediaTimeout, "media-timeout", media.DefaultIdleTimeout, "end an answered call whose peer sent no RTP or RTCP this long (cause error, a media timeout message)")
	f.duration(&cfg.SIPHealthInterval, "sip-health-interval", trunkops.DefaultHealthInterval, "probe every outbound trunk endpoint with SIP OPTIONS this often (GET /v1/sip/status)")
	f.boolean(&cfg.SIPRequireVerification, "sip-require-verification", true, "refuse a call out through a trunk (createCall to a phone number, <Transfer> to a <PhoneNumber>, <Forward>, a REFER to a number) from an E.164 number the account has not verified (PUT /v1/sip/verify) or ported in; =false turns verification off for private deployments whose operator owns every number")
	f.str(&cfg.DNSServer, "dns-server", "", "DNS server (host:port) SIP discovery (POST /v1/sip/discover) resolves A/AAAA and SRV records with (default: the system's resolver)")
	f.str(&cfg.RecordingStorage, "recording-storage", "", "where finished recordings go: empty keeps them in the data directory; s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT[&region=R] puts them in an S3-compatible bucket (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), so every node serves every recording")
	f.duration(&cfg.RecordingRetention, "recording-retention", storage.DefaultRetention, "delete recordings (media and metadata) this long after they started (720h is 30 days), swept about hourly with jitter")
	f.str(&cfg.PublicURL, "public-url", "", "base URL of the API as callbacks show it in callUrl and mediaUrl (default http://<sip domain>:<http port>)")
	var digestAlgs string
	f.str(&digestAlgs, "sip-digest-algorithms", "MD5", "digest algorithms offered in 407 challenges for applications that set no sipDigestAlgorithms, most preferred first: MD5 (every client completes it), SHA-256 (RFC 8760; baresip 1.x fails when it is offered at all)")
	f.str(&cfg.PprofAddr, "pprof-addr", "", "serve Go profiles (net/http/pprof) on this address, e.g. 127.0.0.1:6060; off when empty")
	wasmFlags(f, &cfg)
	transcriptionFlags(f, &cfg)
	finishGuard := guardFlags(f, &cfg)
	finishCluster := clusterFlags(f, &cfg)
	f.str(&logFormat, "log-format", "text", "log format: text or json")
	f.str(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	var version bool
	f.BoolVar(&version, "version", false, "print the version and exit")
	if err := f.parse(args); err != nil {
		return err
	}
	if version {
		_, err := fmt.Fprintln(stdout, versionString())
		return err
	}
	if err := finishGuard(); err != nil {
		return err
	}
	if err := finishCluster(); err != nil {
		return err
	}
	for _, a := range strings.Split(digestAlgs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.DigestAlgorithms = append(cfg.DigestAlgorithms, a)
		}
	}
	log, err := newLogger(stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	cfg.Logger = log
	cfg.Version = versionString()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	if c := srv.FirstCredentials; c != nil {
		fmt.Fprintf(stdout, "First start: created an account and an API client in %s.\nSave the secret now: it is not shown again.\n  accountId:    %s\n  clientId:     %s\n  clientSecret: %s\n", srv.DataDir(), c.AccountID, c.ClientID, c.ClientSecret)
	}
	return srv.Run(ctx, nil)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func credentialsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var dataDir, databaseURL, account string
	var asJSON bool
	f := newFlags("wasmvoice credentials create", stderr)
	f.str(&dataDir, "data-dir", server.DefaultDataDir(), "data directory of the node")
	f.secret(&databaseURL, "database-url", "PostgreSQL database of the node, when it uses one")
	f.StringVar(&account, "account", "", "account to add the client to (created when missing; default: the only account)")
	f.boolean(&asJSON, "json", false, `print {"accountId":…,"clientId":…,"clientSecret":…}`)
	if err := f.parse(args); err != nil {
		return err
	}
	st, err := store.OpenDatabase(ctx, dataDir, databaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.CreateCredentials(ctx, account)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(c)
	}
	_, err = fmt.Fprintf(stdout, "accountId:    %s\nclientId:     %s\nclientSecret: %s\n", c.AccountID, c.ClientID, c.ClientSecret)
	return err
}
