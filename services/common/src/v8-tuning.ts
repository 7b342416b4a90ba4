import v8 from "node:v8";

// Imported first by this package's index, so it runs before anything else of ours (and before
// a catalogue is loaded). V8 pretenures objects from allocation sites whose objects mostly
// survive their first minor GC: start-up (the demo catalogue, tens of thousands of messages
// that live for good) taught it that of sites that also allocate every call's short-lived
// objects (message creation, literals in the call path). Those then went straight to old space,
// held the call's young objects alive through every scavenge, and a third of what each scavenge
// saw was promoted (GC was ~25 % of master-data's CPU, 10-30x the Fastify route's). Without
// pretenuring a scavenge promotes ~nothing. Measured in docs/decisions/0001 ("GC"). The flag
// cannot go in NODE_OPTIONS (Node refuses it there), and every entry point (start.sh, the image,
// tests, the bench and its peers, which import this package too) gets it from here.
//
// On Node 26 (V8 14.6) the flag set here at run time no longer takes hold: `--trace-pretenuring`
// still shows master-data's sites tenured. Given on the command line instead, it changed neither
// cart's nor master-data's scavenges (measured 2026-12-06, after the per-call closure V8 put in old
// space was gone: unary-call.ts), so no launcher passes it; the call stays for the Node lines that
// honour it.
v8.setFlagsFromString("--no-allocation-site-pretenuring");
