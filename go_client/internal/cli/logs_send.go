package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	loggingv1 "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
)

// maxBatch is the most records one WriteLogsRequest may carry (see the proto).
const maxBatch = 1000

func (a *app) logsSendCmd() *cobra.Command {
	var service, level, requestID string
	var fieldFlags []string
	c := &cobra.Command{
		Use:   "send [message…]",
		Short: "Send log records over one client stream; each argument, or each stdin line, is a record",
		Long: `Send log records to the logging service over one WriteLogs client stream.
Each argument is one record; with no arguments, each line of standard input is
one (empty lines are skipped), sent as it arrives, in batches of what has
arrived. Prints how many records the service accepted and dropped.`,
		Example: `  merchctl logs send --service ops --level warning "disk 91% full" "rotating logs"
  tail -f app.log | merchctl logs send --service legacy_app --field host=web1
  merchctl logs send --service api_rest --request-id req-42 --field method=GET --field path=/ "Incoming request: GET /"`,
		Annotations: rpcAnnotation("merch.logging.v1.LoggingService/WriteLogs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			lvl, err := parseLevel(level)
			if err != nil {
				return err
			}
			fields, err := parseFields(fieldFlags)
			if err != nil {
				return err
			}
			template := &loggingv1.LogRecord{Service: service, Level: lvl, RequestId: requestID, Fields: fields}
			return a.sendLogs(cmd.Context(), template, args)
		},
	}
	c.Flags().StringVar(&service, "service", "merchctl", "service name the records are logged under")
	c.Flags().StringVar(&level, "level", "info", "level of the records: "+levelNames)
	c.Flags().StringVar(&requestID, "request-id", "", "request id to tie the records to (default none)")
	c.Flags().StringArrayVar(&fieldFlags, "field", nil, "structured extra key=value, repeatable (default none)")
	return c
}

func (a *app) sendLogs(ctx context.Context, template *loggingv1.LogRecord, args []string) error {
	cc, err := a.logConn()
	if err != nil {
		return err
	}
	client := loggingv1.NewLoggingServiceClient(cc)
	if err := a.waitConnected(ctx, cc, "--log-addr"); err != nil {
		return err
	}
	// The stream has no deadline while input is read (a pipe may last for
	// hours); --timeout bounds only the wait for the final answer.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.WriteLogs(a.outgoing(ctx))
	if err != nil {
		return err
	}
	records := make(chan *loggingv1.LogRecord)
	readErr := make(chan error, 1)
	go func() {
		defer close(records)
		readErr <- produceRecords(ctx, template, args, a.In, records)
	}()
	sendErr := sendBatches(records, func(batch []*loggingv1.LogRecord) error {
		return stream.Send(&loggingv1.WriteLogsRequest{Records: batch})
	})
	if sendErr != nil && !errors.Is(sendErr, io.EOF) {
		return sendErr
	}
	// On io.EOF the server ended the stream: CloseAndRecv reports why.
	fired := a.deadlineAfter(cancel)
	res, err := stream.CloseAndRecv()
	if fired() {
		return status.Errorf(codes.DeadlineExceeded, "the logging service did not answer within %s", a.opts.timeout)
	}
	if err != nil {
		return err
	}
	if sendErr == nil {
		if err := <-readErr; err != nil {
			return err
		}
	}
	return a.emit(res, func(w io.Writer) {
		fmt.Fprintf(w, "accepted %d, dropped %d\n", res.GetAcceptedCount(), res.GetDroppedCount())
	})
}

// produceRecords turns each argument, or else each non-empty line of in,
// into a record stamped with the time it was read.
func produceRecords(ctx context.Context, template *loggingv1.LogRecord, args []string, in io.Reader, out chan<- *loggingv1.LogRecord) error {
	emit := func(msg string) bool {
		r := proto.Clone(template).(*loggingv1.LogRecord)
		r.Message, r.Time = msg, timestamppb.Now()
		select {
		case out <- r:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if len(args) > 0 {
		for _, msg := range args {
			if !emit(msg) {
				break
			}
		}
		return nil
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024) // the server caps a message at 8192 characters
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line != "" && !emit(line) {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading records from stdin: %w", err)
	}
	return nil
}

// sendBatches sends whatever records have arrived, up to maxBatch, as one
// message: a fast pipe goes out in large batches, while a line typed by hand
// is sent at once.
func sendBatches(records <-chan *loggingv1.LogRecord, send func([]*loggingv1.LogRecord) error) error {
	for r := range records {
		batch := []*loggingv1.LogRecord{r}
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-records:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if err := send(batch); err != nil {
			return err
		}
	}
	return nil
}
