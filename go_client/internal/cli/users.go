package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) usersCmd() *cobra.Command {
	c := group("users", "Register, read, change, deactivate and authenticate users (UserService)", `  printf '%s\n' "$PASSWORD" | merchctl users register --sid 12110001 --username lihua --email lihua@sustech.edu.cn --password-stdin
  merchctl users get 1`)
	c.AddCommand(a.usersRegisterCmd(), a.usersGetCmd(), a.usersUpdateCmd(),
		a.usersDeactivateCmd(), a.usersAuthenticateCmd())
	return c
}

func (a *app) userClient() (storev1.UserServiceClient, error) {
	cc, err := a.dbConn()
	if err != nil {
		return nil, err
	}
	return storev1.NewUserServiceClient(cc), nil
}

func writeUser(w io.Writer, u *storev1.User) {
	writeFields(w,
		"id", fmt.Sprint(u.GetId()),
		"sid", u.GetSid(),
		"username", u.GetUsername(),
		"email", u.GetEmail(),
		"active", fmt.Sprint(u.GetActive()),
		"created", formatTime(u.GetCreateTime()),
		"updated", formatTime(u.GetUpdateTime()),
	)
}

// passwordFlags offer the password on the command line (visible to ps and
// shell history) or, better, as the first line of standard input.
type passwordFlags struct {
	value     string
	fromStdin bool
}

func (p *passwordFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&p.value, "password", "", "the password (visible in ps and shell history; prefer --password-stdin)")
	c.Flags().BoolVar(&p.fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	c.MarkFlagsMutuallyExclusive("password", "password-stdin")
}

func (p *passwordFlags) given(cmd *cobra.Command) bool {
	return anyGiven(cmd, "password", "password-stdin")
}

// read returns the password; from stdin only the line ending is removed, so
// passwords with spaces at either end survive.
func (p *passwordFlags) read(in io.Reader) (string, error) {
	if !p.fromStdin {
		return p.value, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("--password-stdin: standard input held no password")
	}
	return line, nil
}
