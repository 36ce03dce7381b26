package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) usersRegisterCmd() *cobra.Command {
	req := &storev1.CreateUserRequest{}
	var pw passwordFlags
	var key idempotencyKey
	c := &cobra.Command{
		Use:   "register --sid SID --username NAME --email EMAIL (--password-stdin | --password PW)",
		Short: "Register a user",
		Example: `  printf '%s\n' "$PASSWORD" | merchctl users register --sid 12110001 --username lihua \
    --email lihua@sustech.edu.cn --password-stdin`,
		Args:        cobra.NoArgs,
		Annotations: rpcAnnotation("merch.store.v1.UserService/CreateUser"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !pw.given(cmd) {
				return usagef("give the password with --password-stdin or --password")
			}
			password, err := pw.read(a.In)
			if err != nil {
				return err
			}
			req.Password = password
			client, err := a.userClient()
			if err != nil {
				return err
			}
			res, err := callIdempotent(a, cmd, &key, client.CreateUser, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeUser(w, res.GetUser()) })
		},
	}
	key.register(c)
	c.Flags().StringVar(&req.Sid, "sid", "", "SUSTech student id, 1 to 20 characters, unique (required)")
	c.Flags().StringVar(&req.Username, "username", "", "login name, 1 to 50 characters, unique (required)")
	c.Flags().StringVar(&req.Email, "email", "", "contact address, unique (required)")
	pw.register(c)
	for _, name := range []string{"sid", "username", "email"} {
		_ = c.MarkFlagRequired(name) // cannot fail: the flags were just defined
	}
	return c
}
