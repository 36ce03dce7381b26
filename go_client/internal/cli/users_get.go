package cli

import (
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) usersGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "get <user-id>",
		Short:       "Show one user, active or not",
		Example:     "  merchctl users get 1",
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.UserService/GetUser"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("user id", args[0])
			if err != nil {
				return err
			}
			client, err := a.userClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.GetUser, &storev1.GetUserRequest{UserId: id})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { writeUser(w, res.GetUser()) })
		},
	}
}
