package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// result is one merchctl run.
type result struct {
	code        int
	out, errOut string
}

// run runs merchctl in process with the given stdin and environment.
func run(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	return runCtx(context.Background(), stdin, env, &bytes.Buffer{}, args...)
}

func runCtx(ctx context.Context, stdin string, env map[string]string, out interface {
	Write([]byte) (int, error)
	String() string
}, args ...string) result {
	var errOut bytes.Buffer
	code := Run(ctx, args, Streams{
		In:  strings.NewReader(stdin),
		Out: out,
		Err: &errOut,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	})
	return result{code, out.String(), errOut.String()}
}

func TestGreetPrintsTheGreeting(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "greet", "--db-addr", f.addr)
	if r.code != 0 || r.out != "Welcome to the gRPC Service!\n" {
		t.Fatalf("exit %d, out %q, err %q", r.code, r.out, r.errOut)
	}
}

func TestDBAddrFallsBackToTheEnvironmentAndTheFlagWins(t *testing.T) {
	f := startFake(t)
	r := run(t, "", map[string]string{"MERCH_DB_ADDR": f.addr}, "greet")
	if r.code != 0 {
		t.Fatalf("with MERCH_DB_ADDR: exit %d, err %q", r.code, r.errOut)
	}
	r = run(t, "", map[string]string{"MERCH_DB_ADDR": "127.0.0.1:1"}, "greet", "--db-addr", f.addr)
	if r.code != 0 {
		t.Fatalf("--db-addr over MERCH_DB_ADDR: exit %d, err %q", r.code, r.errOut)
	}
	r = run(t, "", map[string]string{"MERCH_TIMEOUT": "soon"}, "greet", "--db-addr", f.addr)
	if r.code != ExitUsage || !strings.Contains(r.errOut, "MERCH_TIMEOUT") {
		t.Fatalf("bad MERCH_TIMEOUT: exit %d, err %q", r.code, r.errOut)
	}
}

func TestProductsGetShowsPriceAsMoneyAndJSONAsCents(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "products", "get", "1", "--db-addr", f.addr)
	if r.code != 0 || !strings.Contains(r.out, "price:        49.99") {
		t.Fatalf("exit %d, out:\n%s", r.code, r.out)
	}
	r = run(t, "", nil, "products", "get", "1", "--db-addr", f.addr, "-o", "json")
	var got struct {
		Product struct {
			PriceCents string `json:"price_cents"`
		} `json:"product"`
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || got.Product.PriceCents != "4999" {
		t.Fatalf("json %q: %v", r.out, err)
	}
}

func TestUnknownProductExits69(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "products", "get", "42", "--db-addr", f.addr)
	if r.code != 69 || r.errOut != "merchctl: NOT_FOUND: product 42 does not exist\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
}

func TestBadRequestIsRenderedWithFieldViolationsAndExits67(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "orders", "place", "--user-id", "1", "--product-id", "1", "--quantity", "5", "--db-addr", f.addr)
	want := "merchctl: INVALID_ARGUMENT: the order is not valid\n  quantity: must be 1 to 3\n"
	if r.code != 67 || r.errOut != want {
		t.Fatalf("exit %d, stderr %q, want 67 and %q", r.code, r.errOut, want)
	}
}

func TestPlaceOrderShowsTheOrder(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "orders", "place", "--user-id", "1", "--product-id", "1", "--quantity", "2", "--db-addr", f.addr)
	if r.code != 0 || !strings.Contains(r.out, "total:     99.98") || !strings.Contains(r.out, "status:    placed") {
		t.Fatalf("exit %d, out:\n%s\nerr %s", r.code, r.out, r.errOut)
	}
}

func TestUpdateSendsOnlyTheFlagsGivenEvenWhenZero(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "products", "update", "1", "--stock", "0", "--price", "44.99", "--db-addr", f.addr)
	if r.code != 0 {
		t.Fatalf("exit %d, err %q", r.code, r.errOut)
	}
	req := f.updates[0]
	if req.Stock == nil || req.GetStock() != 0 || req.GetPriceCents() != 4499 || req.Name != nil || req.Slogan != nil {
		t.Errorf("request %v: want stock present as 0, price 4499, nothing else", req)
	}
}

func TestTokenAndHeadersTravelAsMetadata(t *testing.T) {
	f := startFake(t)
	r := run(t, "", map[string]string{"MERCH_SERVICE_TOKEN": "s3cret"}, "greet", "-H", "x-request-id: abc", "--db-addr", f.addr)
	if r.code != 0 {
		t.Fatalf("exit %d, err %q", r.code, r.errOut)
	}
	if got := f.lastMD.Get("authorization"); len(got) != 1 || got[0] != "Bearer s3cret" {
		t.Errorf("authorization = %v", got)
	}
	if got := f.lastMD.Get("x-request-id"); len(got) != 1 || got[0] != "abc" {
		t.Errorf("x-request-id = %v", got)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := [][]string{
		{"nosuchcommand"},
		{"products", "nosuchverb"},
		{"products", "get"},
		{"products", "get", "one"},
		{"products", "get", "1", "--nosuchflag"},
		{"products", "create", "--name", "Cap", "--category", "Apparel", "--price", "1.999"},
		{"products", "create", "--name", "Cap"},
		{"products", "update", "1"},
		{"orders", "place", "--user-id", "1"},
		{"users", "register", "--sid", "1", "--username", "u", "--email", "u@x"},
		{"logs", "send", "--level", "loud", "x"},
		{"greet", "-o", "yaml"},
		{"greet", "-H", "no-colon"},
		{"wire", "encode", "merch.store.v1.Nope", "{}"},
		{"wire", "decode", "0g"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, "", nil, append(args, "--db-addr", "127.0.0.1:1")...)
			if r.code != ExitUsage || !strings.Contains(r.errOut, "--help' for usage") {
				t.Errorf("exit %d, stderr %q; want 2 and a usage hint", r.code, r.errOut)
			}
		})
	}
}

func TestUnreachableServiceExits78(t *testing.T) {
	r := run(t, "", nil, "greet", "--db-addr", "127.0.0.1:1")
	if r.code != 78 || !strings.HasPrefix(r.errOut, "merchctl: UNAVAILABLE: ") {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
}

func TestReplicasAreBalancedRoundRobin(t *testing.T) {
	a, b := startFake(t), startFake(t)
	// Pages continue until both replicas have answered, so the run ends only
	// if calls are spread over both (bounded, should balancing be broken).
	more := func() bool {
		na, nb := a.callCount(), b.callCount()
		return (na == 0 || nb == 0) && na+nb < 200
	}
	a.listMore, b.listMore = more, more
	r := run(t, "", nil, "products", "list", "--all", "--db-addr", a.addr+", "+b.addr, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, err %q", r.code, r.errOut)
	}
	if a.callCount() == 0 || b.callCount() == 0 {
		t.Errorf("calls: %d on one replica, %d on the other", a.callCount(), b.callCount())
	}
}

func TestLogsSendStreamsStdinLinesOverOneStream(t *testing.T) {
	f := startFake(t)
	stdin := "first line\n\nsecond line\r\nthird line"
	r := run(t, stdin, nil, "logs", "send", "--service", "ops", "--level", "warning", "--field", "host=web1", "--log-addr", f.addr)
	if r.code != 0 || r.out != "accepted 3, dropped 0\n" {
		t.Fatalf("exit %d, out %q, err %q", r.code, r.out, r.errOut)
	}
	if f.writeStreams != 1 || len(f.records) != 3 {
		t.Fatalf("%d streams, %d records; want 1 and 3", f.writeStreams, len(f.records))
	}
	rec := f.records[1]
	if rec.GetMessage() != "second line" || rec.GetService() != "ops" || rec.GetLevel().String() != "LOG_LEVEL_WARNING" ||
		rec.GetFields()["host"] != "web1" || rec.GetTime() == nil {
		t.Errorf("record %v", rec)
	}
}

func TestLogsSendTakesArgumentsAsRecords(t *testing.T) {
	f := startFake(t)
	r := run(t, "ignored\n", nil, "logs", "send", "one", "two", "--log-addr", f.addr, "-o", "json")
	if r.code != 0 || r.out != `{"accepted_count":"2"}`+"\n" {
		t.Fatalf("exit %d, out %q, err %q", r.code, r.out, r.errOut)
	}
}

// lineWaiter is an output that signals once it has seen n lines.
type lineWaiter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	n    int
	done chan struct{}
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Count(w.buf.String(), "\n") >= w.n && w.done != nil {
		close(w.done)
		w.done = nil
	}
	return len(p), nil
}

func (w *lineWaiter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestLogsTailFollowsUntilCancelledAndExits0(t *testing.T) {
	f := startFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWaiter{n: 2, done: make(chan struct{})}
	done := out.done
	go func() {
		select {
		case <-done: // what Ctrl-C does, once both records are shown
		case <-time.After(10 * time.Second):
		}
		cancel()
	}()
	r := runCtx(ctx, "", nil, out, "logs", "tail", "--service", "api_rest", "--log-addr", f.addr)
	if r.code != 0 {
		t.Fatalf("exit %d, err %q", r.code, r.errOut)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " INFO     api_rest [req-1] Incoming request: GET / method=GET path=/") {
		t.Errorf("output:\n%s", r.out)
	}
}

func TestHealthExits78WhenAServiceIsNotServing(t *testing.T) {
	f := startFake(t)
	r := run(t, "", nil, "health", "--db-addr", f.addr, "--log-addr", f.addr)
	if r.code != 0 || strings.Count(r.out, "SERVING") != 7 {
		t.Fatalf("all serving: exit %d, out:\n%s\nerr %s", r.code, r.out, r.errOut)
	}
	f.health.SetServingStatus("merch.logging.v1.LoggingService", healthpb.HealthCheckResponse_NOT_SERVING)
	r = run(t, "", nil, "health", "--db-addr", f.addr, "--log-addr", f.addr, "-o", "json")
	if r.code != 78 || !strings.Contains(r.out, `{"address":"`+f.addr+`","service":"merch.logging.v1.LoggingService","status":"NOT_SERVING"}`) {
		t.Fatalf("one not serving: exit %d, out:\n%s", r.code, r.out)
	}
}

func TestWireEncodeSeedExample(t *testing.T) {
	r := run(t, "", nil, "wire", "encode", "merch.store.v1.PlaceOrderRequest", `{"user_id":1,"product_id":101,"quantity":2}`)
	if r.code != 0 || !strings.HasPrefix(r.out, "08 01 10 65 18 02\n") {
		t.Fatalf("exit %d, out %q", r.code, r.out)
	}
	r = run(t, "", nil, "wire", "decode", "PlaceOrderRequest", "08", "01", "10", "65", "18", "02")
	if r.code != 0 || !strings.HasSuffix(r.out, "\n{\"user_id\":1,\"product_id\":101,\"quantity\":2}\n") {
		t.Fatalf("exit %d, out %q", r.code, r.out)
	}
}
