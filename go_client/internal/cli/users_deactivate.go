package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

func (a *app) usersDeactivateCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "deactivate <user-id>",
		Short:       "Deactivate a user (a soft delete: their orders remain)",
		Example:     "  merchctl users deactivate 2",
		Args:        cobra.ExactArgs(1),
		Annotations: rpcAnnotation("merch.store.v1.UserService/DeactivateUser"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("user id", args[0])
			if err != nil {
				return err
			}
			client, err := a.userClient()
			if err != nil {
				return err
			}
			res, err := call(a, cmd, client.DeactivateUser, &storev1.DeactivateUserRequest{UserId: id})
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) {
				fmt.Fprintf(w, "deactivated user %d (%s)\n", res.GetUser().GetId(), res.GetUser().GetUsername())
			})
		},
	}
}
