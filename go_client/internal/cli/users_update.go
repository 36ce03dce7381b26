package cli

import (
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) usersUpdateCmd() *cobra.Command {
	var sid, username, email, current string
	var pw passwordFlags
	c := &cobra.Command{
		Use:   "update <user-id> [--sid …] [--username …] [--email …] [--password-stdin | --password …] [--current-password …]",
		Short: "Change the given fields of a user; the others keep their value",
		Long: `Change the given fields of a user; the others keep their value. A new password
needs the current one (--current-password; missing is INVALID_ARGUMENT, exit 67;
wrong is PERMISSION_DENIED, exit 71), and ends every token issued before it.`,
		Example: `  merchctl users update 1 --email lihua@mail.sustech.edu.cn
  printf '%s\n' "$NEW_PASSWORD" | merchctl users update 1 --password-stdin --current-password "$OLD_PASSWORD"`,
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.UserService/UpdateUser"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("user id", args[0])
			if err != nil {
				return err
			}
			if !anyGiven(cmd, "sid", "username", "email") && !pw.given(cmd) {
				return usagef("nothing to update: give at least one of --sid, --username, --email, --password(-stdin)")
			}
			// Only the fields whose flags were given are set (proto3 optional).
			req := &storev1.UpdateUserRequest{UserId: id}
			if cmd.Flags().Changed("sid") {
				req.Sid = proto.String(sid)
			}
			if cmd.Flags().Changed("username") {
				req.Username = proto.String(username)
			}
			if cmd.Flags().Changed("email") {
				req.Email = proto.String(email)
			}
			if pw.given(cmd) {
				password, err := pw.read(a.In)
				if err != nil {
					return err
				}
				req.Password = proto.String(password)
			}
			if cmd.Flags().Changed("current-password") {
				req.CurrentPassword = proto.String(current)
			}
			client, err := a.userClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.UpdateUser, req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeUser(w, res.GetUser()) })
		},
	}
	c.Flags().StringVar(&sid, "sid", "", "new student id")
	c.Flags().StringVar(&username, "username", "", "new login name")
	c.Flags().StringVar(&email, "email", "", "new contact address")
	c.Flags().StringVar(&current, "current-password", "", "the present password, required with a new password")
	pw.register(c)
	return c
}
