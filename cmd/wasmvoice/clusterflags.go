package main

import (
	"github.com/wasmvoice/wasmvoice/cluster"
	"github.com/wasmvoice/wasmvoice/server"
)

// clusterFlags registers the flags of a node among several sharing one
// database behind a SIP proxy; the returned function finishes cfg after
// f.parse.
func clusterFlags(f flags, cfg *server.Config) func() error {
	var proxies string
	f.str(&cfg.NodeID, "node-id", "", "this node's name among the nodes sharing the database (default: generated at first start and kept in the data directory)")
	f.duration(&cfg.NodeHeartbeat, "node-heartbeat", cluster.DefaultHeartbeat, "how often the node records that it runs; a node that misses 3 beats is dead and another node reconciles its calls (give every node the same value)")
	f.str(&cfg.NodeAPIURL, "node-api-url", "", "where the other nodes reach this node's API to forward requests for the calls it carries (default http://<the --http-addr IP, else --media-ip>:<port>)")
	f.str(&proxies, "sip-trusted-proxies", "", "comma-separated CIDRs of the SIP proxies (Kamailio) allowed to give a request's original source in an X-Wasmvoice-Source header; from anyone else the header is ignored")
	return func() error {
		var err error
		cfg.SIPTrustedProxies, err = parseCIDRs("--sip-trusted-proxies", proxies)
		return err
	}
}
