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
// Still measured on Node 26 (2026-12-06): master-data answering BatchGetItemDetails one call at a
// time keeps ~0.32 MB per scavenge with this line and ~0.58 MB without it (the same ~0.32 MB with
// the flag on the command line instead), although `--trace-pretenuring` still prints sites
// deciding "tenure".
v8.setFlagsFromString("--no-allocation-site-pretenuring");
