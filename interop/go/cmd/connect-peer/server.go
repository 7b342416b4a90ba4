package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/pos-connect/interop/gen/grpctesting/grpc/testing/grpc_testingconnect"
)

// runServer serves TestService with connect-go: the reference server for our client transports.
func runServer(_ []string) error {
	mux := http.NewServeMux()
	mux.Handle(grpc_testingconnect.NewTestServiceHandler(testService{}))
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	server := &http.Server{Handler: mux, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening http://%s\n", listener.Addr())
	// The test process owns us: when it goes away (stdin closes), so do we.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = server.Close()
	}()
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type testService struct {
	grpc_testingconnect.UnimplementedTestServiceHandler
}

func echo(reqHeader, header, trailer http.Header) {
	if v := reqHeader.Values(echoInitialKey); len(v) > 0 {
		header[http.CanonicalHeaderKey(echoInitialKey)] = v
	}
	if v := reqHeader.Values(echoTrailingKey); len(v) > 0 {
		trailer[http.CanonicalHeaderKey(echoTrailingKey)] = v
	}
}

func statusError(s *testpb.EchoStatus) error {
	if s == nil || s.GetCode() == 0 {
		return nil
	}
	return connect.NewError(connect.Code(s.GetCode()), errors.New(s.GetMessage()))
}

func newPayload(t testpb.PayloadType, size int32) (*testpb.Payload, error) {
	if t != testpb.PayloadType_COMPRESSABLE {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("payload type %v is not supported", t))
	}
	if size < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	return &testpb.Payload{Type: t, Body: make([]byte, size)}, nil
}

func wait(ctx context.Context, p *testpb.ResponseParameters) error {
	if p.GetIntervalUs() <= 0 {
		return nil
	}
	timer := time.NewTimer(time.Duration(p.GetIntervalUs()) * time.Microsecond)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
		}
		return connect.NewError(connect.CodeCanceled, ctx.Err())
	}
}

func (testService) EmptyCall(_ context.Context, req *connect.Request[testpb.Empty]) (*connect.Response[testpb.Empty], error) {
	res := connect.NewResponse(&testpb.Empty{})
	echo(req.Header(), res.Header(), res.Trailer())
	return res, nil
}

func (testService) UnaryCall(_ context.Context, req *connect.Request[testpb.SimpleRequest]) (*connect.Response[testpb.SimpleResponse], error) {
	if err := statusError(req.Msg.GetResponseStatus()); err != nil {
		var ce *connect.Error
		errors.As(err, &ce)
		echo(req.Header(), ce.Meta(), ce.Meta())
		return nil, err
	}
	payload, err := newPayload(req.Msg.GetResponseType(), req.Msg.GetResponseSize())
	if err != nil {
		return nil, err
	}
	res := connect.NewResponse(&testpb.SimpleResponse{Payload: payload})
	echo(req.Header(), res.Header(), res.Trailer())
	return res, nil
}

func (s testService) CacheableUnaryCall(ctx context.Context, req *connect.Request[testpb.SimpleRequest]) (*connect.Response[testpb.SimpleResponse], error) {
	return s.UnaryCall(ctx, req)
}

func (testService) StreamingOutputCall(ctx context.Context, req *connect.Request[testpb.StreamingOutputCallRequest], stream *connect.ServerStream[testpb.StreamingOutputCallResponse]) error {
	echo(req.Header(), stream.ResponseHeader(), stream.ResponseTrailer())
	if err := statusError(req.Msg.GetResponseStatus()); err != nil {
		return err
	}
	for _, p := range req.Msg.GetResponseParameters() {
		if err := wait(ctx, p); err != nil {
			return err
		}
		payload, err := newPayload(req.Msg.GetResponseType(), p.GetSize())
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (testService) StreamingInputCall(_ context.Context, stream *connect.ClientStream[testpb.StreamingInputCallRequest]) (*connect.Response[testpb.StreamingInputCallResponse], error) {
	sum := 0
	for stream.Receive() {
		sum += len(stream.Msg().GetPayload().GetBody())
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	res := connect.NewResponse(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(sum)})
	echo(stream.RequestHeader(), res.Header(), res.Trailer())
	return res, nil
}

func (testService) FullDuplexCall(ctx context.Context, stream *connect.BidiStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	echo(stream.RequestHeader(), stream.ResponseHeader(), stream.ResponseTrailer())
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := respond(ctx, req, stream.Send); err != nil {
			return err
		}
	}
}

func (testService) HalfDuplexCall(ctx context.Context, stream *connect.BidiStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	echo(stream.RequestHeader(), stream.ResponseHeader(), stream.ResponseTrailer())
	var all []*testpb.StreamingOutputCallRequest
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		all = append(all, req)
	}
	for _, req := range all {
		if err := respond(ctx, req, stream.Send); err != nil {
			return err
		}
	}
	return nil
}

func respond(ctx context.Context, req *testpb.StreamingOutputCallRequest, send func(*testpb.StreamingOutputCallResponse) error) error {
	if err := statusError(req.GetResponseStatus()); err != nil {
		return err
	}
	for _, p := range req.GetResponseParameters() {
		if err := wait(ctx, p); err != nil {
			return err
		}
		payload, err := newPayload(req.GetResponseType(), p.GetSize())
		if err != nil {
			return err
		}
		if err := send(&testpb.StreamingOutputCallResponse{Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}
