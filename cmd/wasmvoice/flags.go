package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// envName is the environment variable that overrides a flag.
func envName(flagName string) string {
	return "WASMVOICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flags is a FlagSet whose every flag reads its default from WASMVOICE_<NAME>
// and keeps the type it has (--help shows int, duration, string).
type flags struct {
	*flag.FlagSet
	envErrs *[]error // environment values that do not parse
	checks  *[]func() error
}

func newFlags(name string, stderr io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flags{FlagSet: fs, envErrs: new([]error), checks: new([]func() error)}
}

// env returns the environment's value for a flag, if set.
func (f flags) env(name string) (string, bool) { return os.LookupEnv(envName(name)) }

func (f flags) str(p *string, name, def, usage string) {
	if v, ok := f.env(name); ok {
		def = v
	}
	f.StringVar(p, name, def, usage+" (env "+envName(name)+")")
}

// secret is a string flag whose value --help never shows (a database URL
// holds a password).
func (f flags) secret(p *string, name, usage string) {
	f.str(p, name, "", usage)
	if fl := f.Lookup(name); fl.DefValue != "" {
		fl.DefValue = "set, hidden"
	}
}

func (f flags) boolean(p *bool, name string, def bool, usage string) {
	if v, ok := f.env(name); ok {
		def = v == "1" || strings.EqualFold(v, "true")
	}
	f.BoolVar(p, name, def, usage+" (env "+envName(name)+")")
}

// integer is an int flag of at least min.
func (f flags) integer(p *int, name string, def, min int, usage string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			*f.envErrs = append(*f.envErrs, fmt.Errorf("%s=%q: want an integer", envName(name), v))
		}
		def = n
	}
	f.IntVar(p, name, def, usage+" (env "+envName(name)+")")
	*f.checks = append(*f.checks, func() error {
		if *p < min {
			return fmt.Errorf("--%s %d: want at least %d", name, *p, min)
		}
		return nil
	})
}

// duration is a positive duration flag.
func (f flags) duration(p *time.Duration, name string, def time.Duration, usage string) {
	if v, ok := f.env(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			*f.envErrs = append(*f.envErrs, fmt.Errorf("%s=%q: want a duration such as 10s", envName(name), v))
		}
		def = d
	}
	f.DurationVar(p, name, def, usage+" (env "+envName(name)+")")
	*f.checks = append(*f.checks, func() error {
		if *p <= 0 {
			return fmt.Errorf("--%s %v: want a positive duration such as 10s", name, *p)
		}
		return nil
	})
}

// parse parses args and checks every flag's bounds and environment value.
func (f flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see --help)", f.Arg(0))
	}
	errs := append([]error(nil), *f.envErrs...)
	for _, c := range *f.checks {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
