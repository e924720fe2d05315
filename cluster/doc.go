// Package cluster lets several nodes share one database (PostgreSQL; a
// single SQLite node runs the same code with itself as the only node): each
// node registers itself and beats (Registry), a node that stops beating is
// claimed by one live node, which reconciles its calls as a restart would,
// and the Voice API on any node reaches a live call through the node that
// carries its media (Forwarder, a bounded reverse proxy).
//
// Nodes judge each other by the beat times they write with their own
// clocks: keep the nodes' clocks in sync (NTP), and give every node the same
// heartbeat interval.
package cluster
