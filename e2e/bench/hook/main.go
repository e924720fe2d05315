// Command hook is the benchmark's loopback webhook: it answers the
// call-initiated callback with the BXML given on the command line and every
// other callback (status, transferComplete, ...) with an empty 200, so the
// server's own work dominates the measurement.
package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	initiate := flag.String("initiate", "<Response><Pause duration=\"5\"/></Response>", "BXML answering /initiate")
	portFile := flag.String("port-file", "", "write the bound port here once listening")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "error", err)
		os.Exit(1)
	}
	if *portFile != "" {
		port := l.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(*portFile, []byte(strconv.Itoa(port)), 0o644); err != nil {
			log.Error("port file", "error", err)
			os.Exit(1)
		}
	}
	body := []byte(*initiate)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/initiate" {
			w.Header().Set("Content-Type", "application/xml")
			w.Write(body)
		}
	})}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		log.Error("serve", "error", err)
		os.Exit(1)
	}
}
