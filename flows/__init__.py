"""Pure domain: conversation and request state machines, form spec, policies. No I/O."""
