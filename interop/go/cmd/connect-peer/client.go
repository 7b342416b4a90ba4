package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/pos-connect/interop/gen/grpctesting/grpc/testing/grpc_testingconnect"
	masterdatav1 "github.com/pos-connect/interop/gen/pos/pos/masterdata/v1"
	"github.com/pos-connect/interop/gen/pos/pos/masterdata/v1/masterdatav1connect"
)

// A way to call: protocol, codec, HTTP version (and GET for Connect reads).
type clientConfig struct {
	name     string
	protocol string // connect, grpc, grpcweb
	json     bool
	http2    bool
	get      bool // Connect GET: only the master-data reads (GET needs NO_SIDE_EFFECTS methods)
}

var clientConfigs = []clientConfig{
	{name: "connect+proto/h2", protocol: "connect", http2: true},
	{name: "connect+json/h2", protocol: "connect", json: true, http2: true},
	{name: "connect+proto/http1.1", protocol: "connect"},
	{name: "connect+json/http1.1", protocol: "connect", json: true},
	{name: "connect+proto/http1.1/GET", protocol: "connect", get: true},
	{name: "connect+json/http1.1/GET", protocol: "connect", json: true, get: true},
	{name: "grpc+proto/h2", protocol: "grpc", http2: true},
	{name: "grpc+json/h2", protocol: "grpc", json: true, http2: true},
	{name: "grpcweb+proto/h2", protocol: "grpcweb", http2: true},
	{name: "grpcweb+proto/http1.1", protocol: "grpcweb"},
	{name: "grpcweb+json/http1.1", protocol: "grpcweb", json: true},
}

// What a case gets: clients for our TestService host and master-data, and what the wire saw.
type peers struct {
	test       grpc_testingconnect.TestServiceClient
	testGzip   grpc_testingconnect.TestServiceClient
	unimpl     grpc_testingconnect.UnimplementedServiceClient
	masterData masterdatav1connect.ItemServiceClient
	wire       *wireLog
}

type clientCase struct {
	name string
	// Bidirectional streams need HTTP/2; Connect GET only carries the master-data reads.
	needsHTTP2 bool
	masterData bool
	// Several MB as protobuf JSON (base64) cost seconds in protobuf-es' JSON encoder, not correctness:
	// the JSON configs get large_unary (~300 KB) instead.
	binaryOnly bool
	run        func(ctx context.Context, p peers) error
}

var clientCases = []clientCase{
	{name: "empty_unary", run: emptyUnary},
	{name: "large_unary", run: largeUnary},
	{name: "large_unary_4mb", binaryOnly: true, run: largeUnary4MB},
	{name: "client_compressed_unary", run: clientCompressedUnary},
	{name: "server_streaming", run: serverStreaming},
	{name: "client_streaming", run: clientStreaming},
	{name: "ping_pong", needsHTTP2: true, run: pingPong},
	{name: "empty_stream", needsHTTP2: true, run: emptyStream},
	{name: "half_duplex", needsHTTP2: true, run: halfDuplex},
	{name: "status_code_and_message", run: statusCodeAndMessage},
	{name: "status_code_and_message_streaming", run: statusCodeAndMessageStreaming},
	{name: "special_status_message", run: specialStatusMessage},
	{name: "custom_metadata", run: customMetadata},
	{name: "custom_metadata_streaming", run: customMetadataStreaming},
	{name: "unimplemented_method", run: unimplementedMethod},
	{name: "unimplemented_service", run: unimplementedService},
	{name: "timeout_on_sleeping_server", run: timeoutOnSleepingServer},
	{name: "cancel_after_first_response", needsHTTP2: true, run: cancelAfterFirstResponse},
	{name: "master_data_get_item", masterData: true, run: masterDataGetItem},
	{name: "master_data_not_found", masterData: true, run: masterDataNotFound},
	{name: "master_data_invalid_argument", masterData: true, run: masterDataInvalidArgument},
	{name: "master_data_request_id_header", masterData: true, run: masterDataRequestID},
}

func (c clientConfig) runs(k clientCase) bool {
	if (k.needsHTTP2 && !c.http2) || (k.binaryOnly && c.json) {
		return false
	}
	return !c.get || k.masterData
}

func caseNames() []string {
	var names []string
	for _, c := range clientConfigs {
		for _, k := range clientCases {
			if c.runs(k) {
				names = append(names, c.name+" "+k.name)
			}
		}
	}
	return names
}

type result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// The HTTP requests the case made, as "METHOD HTTP/x content-type", to prove the wire protocol
	// (HTTP version "-" when no response came, e.g. at a deadline).
	Wire []string `json:"wire,omitempty"`
}

func runClient(args []string) error {
	flags := flag.NewFlagSet("client", flag.ContinueOnError)
	testURL := flags.String("test-service", "", "base URL of grpc.testing.TestService")
	masterDataURL := flags.String("master-data", "", "base URL of master-data")
	authorization := flags.String("master-data-authorization", "", "authorization header sent on every master-data call (its RPCs need a credential)")
	only := flags.String("only", "", "run only the cases whose name contains this")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *testURL == "" || *masterDataURL == "" {
		return errors.New("client needs -test-service and -master-data")
	}
	out := json.NewEncoder(os.Stdout)
	for _, c := range clientConfigs {
		for _, k := range clientCases {
			name := c.name + " " + k.name
			if !c.runs(k) || !strings.Contains(name, *only) {
				continue
			}
			p := c.peers(*testURL, *masterDataURL, *authorization)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := k.run(ctx, p)
			cancel()
			r := result{Name: name, OK: err == nil, Wire: p.wire.lines()}
			if err != nil {
				r.Error = err.Error()
			}
			if err := out.Encode(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// A fresh connection per case, so a broken one cannot fail the cases after it.
func (c clientConfig) peers(testURL, masterDataURL, authorization string) peers {
	transport := &http.Transport{Protocols: new(http.Protocols)}
	if c.http2 {
		transport.Protocols.SetUnencryptedHTTP2(true)
	} else {
		transport.Protocols.SetHTTP1(true)
	}
	wire := &wireLog{next: transport}
	httpClient := &http.Client{Transport: wire}
	var opts []connect.ClientOption
	switch c.protocol {
	case "grpc":
		opts = append(opts, connect.WithGRPC())
	case "grpcweb":
		opts = append(opts, connect.WithGRPCWeb())
	}
	if c.json {
		opts = append(opts, connect.WithProtoJSON())
	}
	if c.get {
		opts = append(opts, connect.WithHTTPGet())
	}
	gzip := append(append([]connect.ClientOption{}, opts...), connect.WithSendGzip())
	credential := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if authorization != "" {
				req.Header().Set("authorization", authorization)
			}
			return next(ctx, req)
		}
	})
	masterDataOpts := append(append([]connect.ClientOption{}, opts...), connect.WithInterceptors(credential))
	return peers{
		test:       grpc_testingconnect.NewTestServiceClient(httpClient, testURL, opts...),
		testGzip:   grpc_testingconnect.NewTestServiceClient(httpClient, testURL, gzip...),
		unimpl:     grpc_testingconnect.NewUnimplementedServiceClient(httpClient, testURL, opts...),
		masterData: masterdatav1connect.NewItemServiceClient(httpClient, masterDataURL, masterDataOpts...),
		wire:       wire,
	}
}

type wireLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (w *wireLog) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := w.next.RoundTrip(req)
	proto := "-"
	if res != nil {
		proto = res.Proto
	}
	w.mu.Lock()
	w.seen = append(w.seen, fmt.Sprintf("%s %s %s", req.Method, proto, req.Header.Get("Content-Type")))
	w.mu.Unlock()
	return res, err
}

func (w *wireLog) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string{}, w.seen...)
}

// The interop spec's sizes (doc/interop-test-descriptions.md in grpc/grpc).
var (
	reqSizes      = []int{27182, 8, 1828, 45904}
	respSizes     = []int{31415, 9, 2653, 58979}
	largeReqSize  = 271828
	largeRespSize = 314159
)

func payload(size int) *testpb.Payload {
	return &testpb.Payload{Type: testpb.PayloadType_COMPRESSABLE, Body: make([]byte, size)}
}

func checkPayload(p *testpb.Payload, size int) error {
	if p.GetType() != testpb.PayloadType_COMPRESSABLE || len(p.GetBody()) != size {
		return fmt.Errorf("got payload type %v of %d bytes, want COMPRESSABLE of %d", p.GetType(), len(p.GetBody()), size)
	}
	return nil
}

func emptyUnary(ctx context.Context, p peers) error {
	res, err := p.test.EmptyCall(ctx, connect.NewRequest(&testpb.Empty{}))
	if err != nil {
		return err
	}
	if res.Msg == nil {
		return errors.New("no response message")
	}
	return nil
}

func unaryOfSize(ctx context.Context, client grpc_testingconnect.TestServiceClient, reqSize, respSize int, expectCompressed bool) error {
	req := &testpb.SimpleRequest{ResponseType: testpb.PayloadType_COMPRESSABLE, ResponseSize: int32(respSize), Payload: payload(reqSize)}
	if expectCompressed {
		req.ExpectCompressed = &testpb.BoolValue{Value: true}
	}
	res, err := client.UnaryCall(ctx, connect.NewRequest(req))
	if err != nil {
		return err
	}
	return checkPayload(res.Msg.GetPayload(), respSize)
}

func largeUnary(ctx context.Context, p peers) error {
	return unaryOfSize(ctx, p.test, largeReqSize, largeRespSize, false)
}

func largeUnary4MB(ctx context.Context, p peers) error {
	return unaryOfSize(ctx, p.test, 4<<20, 4<<20, false)
}

// The server must refuse a request that claims compression without it, and accept a gzipped one.
func clientCompressedUnary(ctx context.Context, p peers) error {
	err := unaryOfSize(ctx, p.test, largeReqSize, largeRespSize, true)
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		return fmt.Errorf("uncompressed request that expects compression: got %v, want invalid_argument", err)
	}
	return unaryOfSize(ctx, p.testGzip, largeReqSize, largeRespSize, true)
}

func serverStreaming(ctx context.Context, p peers) error {
	req := &testpb.StreamingOutputCallRequest{ResponseType: testpb.PayloadType_COMPRESSABLE}
	for _, s := range respSizes {
		req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: int32(s)})
	}
	stream, err := p.test.StreamingOutputCall(ctx, connect.NewRequest(req))
	if err != nil {
		return err
	}
	defer stream.Close()
	n := 0
	for stream.Receive() {
		if n >= len(respSizes) {
			return errors.New("more responses than asked for")
		}
		if err := checkPayload(stream.Msg().GetPayload(), respSizes[n]); err != nil {
			return fmt.Errorf("response %d: %w", n, err)
		}
		n++
	}
	if err := stream.Err(); err != nil {
		return err
	}
	if n != len(respSizes) {
		return fmt.Errorf("got %d responses, want %d", n, len(respSizes))
	}
	return nil
}

func clientStreaming(ctx context.Context, p peers) error {
	stream := p.test.StreamingInputCall(ctx)
	sum := 0
	for _, s := range reqSizes {
		if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: payload(s)}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		sum += s
	}
	res, err := stream.CloseAndReceive()
	if err != nil {
		return err
	}
	if got := int(res.Msg.GetAggregatedPayloadSize()); got != sum {
		return fmt.Errorf("aggregated payload size %d, want %d", got, sum)
	}
	return nil
}

func pingPong(ctx context.Context, p peers) error {
	stream := p.test.FullDuplexCall(ctx)
	for i := range reqSizes {
		err := stream.Send(&testpb.StreamingOutputCallRequest{
			ResponseType:       testpb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*testpb.ResponseParameters{{Size: int32(respSizes[i])}},
			Payload:            payload(reqSizes[i]),
		})
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		res, err := stream.Receive()
		if err != nil {
			return fmt.Errorf("receive %d: %w", i, err)
		}
		if err := checkPayload(res.GetPayload(), respSizes[i]); err != nil {
			return fmt.Errorf("response %d: %w", i, err)
		}
	}
	if err := stream.CloseRequest(); err != nil {
		return err
	}
	if _, err := stream.Receive(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the last response: got %v, want the end of the stream", err)
	}
	return stream.CloseResponse()
}

func emptyStream(ctx context.Context, p peers) error {
	stream := p.test.FullDuplexCall(ctx)
	if err := stream.CloseRequest(); err != nil {
		return err
	}
	if _, err := stream.Receive(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("got %v, want the end of the stream", err)
	}
	return stream.CloseResponse()
}

// HalfDuplexCall answers only after the client has sent everything.
func halfDuplex(ctx context.Context, p peers) error {
	stream := p.test.HalfDuplexCall(ctx)
	for i := range reqSizes {
		err := stream.Send(&testpb.StreamingOutputCallRequest{
			ResponseType:       testpb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*testpb.ResponseParameters{{Size: int32(respSizes[i])}},
		})
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
	}
	if err := stream.CloseRequest(); err != nil {
		return err
	}
	for i := range respSizes {
		res, err := stream.Receive()
		if err != nil {
			return fmt.Errorf("receive %d: %w", i, err)
		}
		if err := checkPayload(res.GetPayload(), respSizes[i]); err != nil {
			return fmt.Errorf("response %d: %w", i, err)
		}
	}
	if _, err := stream.Receive(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the last response: got %v, want the end of the stream", err)
	}
	return stream.CloseResponse()
}

func expectStatus(err error, code connect.Code, message string) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("got %v, want %v %q", err, code, message)
	}
	if ce.Code() != code || ce.Message() != message {
		return fmt.Errorf("got %v %q, want %v %q", ce.Code(), ce.Message(), code, message)
	}
	return nil
}

const statusMessage = "test status message"

func statusCodeAndMessage(ctx context.Context, p peers) error {
	_, err := p.test.UnaryCall(ctx, connect.NewRequest(&testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(connect.CodeUnknown), Message: statusMessage},
	}))
	return expectStatus(err, connect.CodeUnknown, statusMessage)
}

func statusCodeAndMessageStreaming(ctx context.Context, p peers) error {
	stream, err := p.test.StreamingOutputCall(ctx, connect.NewRequest(&testpb.StreamingOutputCallRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(connect.CodeResourceExhausted), Message: statusMessage},
	}))
	if err != nil {
		return expectStatus(err, connect.CodeResourceExhausted, statusMessage)
	}
	defer stream.Close()
	for stream.Receive() {
		return errors.New("got a response, want an error")
	}
	return expectStatus(stream.Err(), connect.CodeResourceExhausted, statusMessage)
}

func specialStatusMessage(ctx context.Context, p peers) error {
	const msg = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	_, err := p.test.UnaryCall(ctx, connect.NewRequest(&testpb.SimpleRequest{
		ResponseStatus: &testpb.EchoStatus{Code: int32(connect.CodeUnknown), Message: msg},
	}))
	return expectStatus(err, connect.CodeUnknown, msg)
}

const (
	echoInitialKey  = "x-grpc-test-echo-initial"
	echoInitial     = "test_initial_metadata_value"
	echoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

var echoTrailing = []byte{0x0a, 0x0b, 0x0a, 0x0b, 0x0a, 0x0b}

func setEchoHeaders(h http.Header) {
	h.Set(echoInitialKey, echoInitial)
	h.Set(echoTrailingKey, connect.EncodeBinaryHeader(echoTrailing))
}

func checkEchoed(header, trailer http.Header) error {
	if got := header.Values(echoInitialKey); len(got) != 1 || got[0] != echoInitial {
		return fmt.Errorf("header %s: got %q, want [%q]", echoInitialKey, got, echoInitial)
	}
	got := trailer.Values(echoTrailingKey)
	if len(got) != 1 {
		return fmt.Errorf("trailer %s: got %q, want one value", echoTrailingKey, got)
	}
	value, err := connect.DecodeBinaryHeader(got[0])
	if err != nil || !bytes.Equal(value, echoTrailing) {
		return fmt.Errorf("trailer %s: got %q (%v), want %x", echoTrailingKey, got[0], err, echoTrailing)
	}
	return nil
}

func customMetadata(ctx context.Context, p peers) error {
	req := connect.NewRequest(&testpb.SimpleRequest{ResponseType: testpb.PayloadType_COMPRESSABLE, ResponseSize: 1, Payload: payload(1)})
	setEchoHeaders(req.Header())
	res, err := p.test.UnaryCall(ctx, req)
	if err != nil {
		return err
	}
	return checkEchoed(res.Header(), res.Trailer())
}

func customMetadataStreaming(ctx context.Context, p peers) error {
	req := connect.NewRequest(&testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 1}},
	})
	setEchoHeaders(req.Header())
	stream, err := p.test.StreamingOutputCall(ctx, req)
	if err != nil {
		return err
	}
	defer stream.Close()
	for stream.Receive() {
	}
	if err := stream.Err(); err != nil {
		return err
	}
	return checkEchoed(stream.ResponseHeader(), stream.ResponseTrailer())
}

func unimplementedMethod(ctx context.Context, p peers) error {
	_, err := p.test.UnimplementedCall(ctx, connect.NewRequest(&testpb.Empty{}))
	if connect.CodeOf(err) != connect.CodeUnimplemented {
		return fmt.Errorf("got %v, want unimplemented", err)
	}
	return nil
}

func unimplementedService(ctx context.Context, p peers) error {
	_, err := p.unimpl.UnimplementedCall(ctx, connect.NewRequest(&testpb.Empty{}))
	if connect.CodeOf(err) != connect.CodeUnimplemented {
		return fmt.Errorf("got %v, want unimplemented", err)
	}
	return nil
}

// The server sleeps far longer than the deadline; the call must end with deadline_exceeded.
func timeoutOnSleepingServer(ctx context.Context, p peers) error {
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	stream, err := p.test.StreamingOutputCall(ctx, connect.NewRequest(&testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 1, IntervalUs: 30_000_000}},
	}))
	if err == nil {
		defer stream.Close()
		for stream.Receive() {
			return errors.New("got a response from a sleeping server")
		}
		err = stream.Err()
	}
	if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		return fmt.Errorf("got %v, want deadline_exceeded", err)
	}
	return nil
}

func cancelAfterFirstResponse(ctx context.Context, p peers) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := p.test.FullDuplexCall(ctx)
	err := stream.Send(&testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 31415}},
		Payload:            payload(27182),
	})
	if err != nil {
		return err
	}
	if _, err := stream.Receive(); err != nil {
		return err
	}
	cancel()
	if _, err := stream.Receive(); connect.CodeOf(err) != connect.CodeCanceled {
		return fmt.Errorf("after cancel: got %v, want canceled", err)
	}
	return nil
}

func masterDataGetItem(ctx context.Context, p peers) error {
	res, err := p.masterData.GetItemDetail(ctx, connect.NewRequest(&masterdatav1.GetItemDetailRequest{
		TenantId: "T0001", StoreCode: "S0001", ItemCode: "ITEM0003",
	}))
	if err != nil {
		return err
	}
	item := res.Msg.GetItem()
	if item.GetItemCode() != "ITEM0003" || item.GetTenantId() != "T0001" || item.GetPrice().GetAmount() <= 0 {
		return fmt.Errorf("unexpected item %v", item)
	}
	return nil
}

func masterDataNotFound(ctx context.Context, p peers) error {
	_, err := p.masterData.GetItemDetail(ctx, connect.NewRequest(&masterdatav1.GetItemDetailRequest{
		TenantId: "T0001", StoreCode: "S0001", ItemCode: "NOPE",
	}))
	return expectStatus(err, connect.CodeNotFound, `item "NOPE" not found in tenant "T0001"`)
}

func masterDataInvalidArgument(ctx context.Context, p peers) error {
	_, err := p.masterData.GetItemDetail(ctx, connect.NewRequest(&masterdatav1.GetItemDetailRequest{
		TenantId: "T0001", StoreCode: "S0001",
	}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "item_code") {
		return fmt.Errorf("got %v, want invalid_argument naming item_code", err)
	}
	return nil
}

func masterDataRequestID(ctx context.Context, p peers) error {
	req := connect.NewRequest(&masterdatav1.GetItemDetailRequest{TenantId: "T0001", StoreCode: "S0001", ItemCode: "ITEM0001"})
	req.Header().Set("x-request-id", "interop-connect-go-1")
	res, err := p.masterData.GetItemDetail(ctx, req)
	if err != nil {
		return err
	}
	if got := res.Header().Get("x-request-id"); got != "interop-connect-go-1" {
		return fmt.Errorf("x-request-id: got %q, want it echoed", got)
	}
	return nil
}
