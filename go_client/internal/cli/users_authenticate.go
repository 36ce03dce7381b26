package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) usersAuthenticateCmd() *cobra.Command {
	var username string
	var pw passwordFlags
	c := &cobra.Command{
		Use:   "authenticate --username NAME (--password-stdin | --password PW)",
		Short: "Check a username and password; prints the user, or exits 80 (UNAUTHENTICATED)",
		Example: `  printf '%s\n' "$PASSWORD" | merchctl users authenticate --username lihua --password-stdin
  merchctl users authenticate --username lihua --password-stdin -o json < pw.txt`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.UserService/AuthenticateUser"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !pw.given(cmd) {
				return usagef("give the password with --password-stdin or --password")
			}
			password, err := pw.read(a.In)
			if err != nil {
				return err
			}
			client, err := a.userClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.AuthenticateUser, &storev1.AuthenticateUserRequest{Username: username, Password: password})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeUser(w, res.GetUser()) })
		},
	}
	c.Flags().StringVar(&username, "username", "", "login name (required)")
	_ = c.MarkFlagRequired("username") // cannot fail: the flag was just defined
	pw.register(c)
	return c
}
