// Command connect-peer is the Connect reference implementation (connect-go) on the other end
// of our TypeScript stack, for the interop suites in interop/test:
//
//	connect-peer cases                      the client cases, as a JSON array of names
//	connect-peer client -test-service URL -master-data URL
//	                                        runs every client case against our servers, one JSON line per result
//	connect-peer server                     serves grpc.testing.TestService (Connect, gRPC, gRPC-Web over
//	                                        HTTP/1.1 and h2c) on 127.0.0.1:<free port>, prints "listening URL",
//	                                        stops when its standard input closes
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: connect-peer cases|client|server [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "cases":
		err = json.NewEncoder(os.Stdout).Encode(caseNames())
	case "client":
		err = runClient(os.Args[2:])
	case "server":
		err = runServer(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect-peer:", err)
		os.Exit(1)
	}
}
