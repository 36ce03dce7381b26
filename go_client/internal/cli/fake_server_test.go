package cli

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	loggingv1 "github.com/sustech-merch/store/go_client/gen/merch/logging/v1"
	storev1 "github.com/sustech-merch/store/go_client/gen/merch/store/v1"
)

// fakeStore stands in for both Python services, in process, on 127.0.0.1:0.
// It implements just enough of each service to drive the commands end to end.
type fakeStore struct {
	storev1.UnimplementedGreetingServiceServer
	storev1.UnimplementedProductServiceServer
	storev1.UnimplementedOrderServiceServer
	loggingv1.UnimplementedLoggingServiceServer

	addr   string
	health *health.Server

	mu           sync.Mutex
	lastMD       metadata.MD
	calls        int
	writeStreams int
	writeBatches int
	records      []*loggingv1.LogRecord
	updates      []*storev1.UpdateProductRequest
	// listMore, when set, decides whether ListProducts has a next page.
	listMore func() bool
}

func startFake(t *testing.T) *fakeStore {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeStore{addr: lis.Addr().String(), health: health.NewServer()}
	s := grpc.NewServer()
	storev1.RegisterGreetingServiceServer(s, f)
	storev1.RegisterProductServiceServer(s, f)
	storev1.RegisterOrderServiceServer(s, f)
	loggingv1.RegisterLoggingServiceServer(s, f)
	healthpb.RegisterHealthServer(s, f.health)
	for _, svc := range append(servicesIn(storePackage), servicesIn(loggingPackage)...) {
		f.health.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	}
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return f
}

func (f *fakeStore) seen(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastMD, _ = metadata.FromIncomingContext(ctx)
	f.calls++
}

func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeStore) GetGreeting(ctx context.Context, _ *storev1.GetGreetingRequest) (*storev1.GetGreetingResponse, error) {
	f.seen(ctx)
	return &storev1.GetGreetingResponse{Message: "Welcome to the gRPC Service!"}, nil
}

var hoodie = &storev1.Product{Id: 1, Name: "SUSTech Hoodie", Category: "Apparel", PriceCents: 4999, Stock: 500,
	Description: "Stay warm, stay proud!", Slogan: "Stay warm, stay proud!"}

func (f *fakeStore) GetProduct(ctx context.Context, req *storev1.GetProductRequest) (*storev1.GetProductResponse, error) {
	f.seen(ctx)
	if req.GetProductId() != 1 {
		return nil, status.Errorf(codes.NotFound, "product %d does not exist", req.GetProductId())
	}
	return &storev1.GetProductResponse{Product: hoodie}, nil
}

func (f *fakeStore) ListProducts(ctx context.Context, _ *storev1.ListProductsRequest) (*storev1.ListProductsResponse, error) {
	f.seen(ctx)
	res := &storev1.ListProductsResponse{Products: []*storev1.Product{hoodie}}
	if f.listMore != nil && f.listMore() {
		res.NextPageToken = "more"
	}
	return res, nil
}

func (f *fakeStore) UpdateProduct(ctx context.Context, req *storev1.UpdateProductRequest) (*storev1.UpdateProductResponse, error) {
	f.seen(ctx)
	f.mu.Lock()
	f.updates = append(f.updates, req)
	f.mu.Unlock()
	return &storev1.UpdateProductResponse{Product: hoodie}, nil
}

func (f *fakeStore) PlaceOrder(ctx context.Context, req *storev1.PlaceOrderRequest) (*storev1.PlaceOrderResponse, error) {
	f.seen(ctx)
	if q := req.GetQuantity(); q < 1 || q > 3 {
		st, _ := status.New(codes.InvalidArgument, "the order is not valid").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "quantity", Description: "must be 1 to 3"}},
		})
		return nil, st.Err()
	}
	return &storev1.PlaceOrderResponse{Order: &storev1.Order{
		Id: 7, UserId: req.GetUserId(), ProductId: req.GetProductId(), Quantity: req.GetQuantity(),
		TotalPriceCents: 4999 * int64(req.GetQuantity()), Status: storev1.OrderStatus_ORDER_STATUS_PLACED,
		CreateTime: timestamppb.Now(),
	}}, nil
}

func (f *fakeStore) WriteLogs(stream grpc.ClientStreamingServer[loggingv1.WriteLogsRequest, loggingv1.WriteLogsResponse]) error {
	f.seen(stream.Context())
	f.mu.Lock()
	f.writeStreams++
	f.mu.Unlock()
	var accepted int64
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&loggingv1.WriteLogsResponse{AcceptedCount: accepted})
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.writeBatches++
		f.records = append(f.records, req.GetRecords()...)
		f.mu.Unlock()
		accepted += int64(len(req.GetRecords()))
	}
}

// TailLogs sends two records, then follows "the live log" (nothing more
// comes) until the client cancels.
func (f *fakeStore) TailLogs(req *loggingv1.TailLogsRequest, stream grpc.ServerStreamingServer[loggingv1.TailLogsResponse]) error {
	f.seen(stream.Context())
	for _, msg := range []string{"Incoming request: GET /", "Response status: 200 for GET /"} {
		rec := &loggingv1.LogRecord{Time: timestamppb.Now(), Service: req.GetService(), Level: loggingv1.LogLevel_LOG_LEVEL_INFO,
			Message: msg, RequestId: "req-1", Fields: map[string]string{"path": "/", "method": "GET"}}
		if err := stream.Send(&loggingv1.TailLogsResponse{Record: rec}); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return nil
}
