"""`make fuzz`: bad input at scale against every inbound door of the local stack.

The local stack (devkit.local) runs with the vendor sandboxes of every vendor that declares doors
(``devkit/fuzz/doors/<vendor>.py``) and two tenants' connections, set up the way an operator would (the CLI, the
vendors' own webhook registration and activation). Genuine traffic flows first, so genuine signed requests exist
to mutate and replay. Then the state is snapshot (every DynamoDB item, every queue's depth), each door gets its
seeded share of bad requests drawn with hypothesis, and every answer and the state afterwards are checked:

- every answer is a 4xx with a JSON ``error`` that says why, or a 2xx only where the door declared one to be fine
  (a replay of an accepted webhook, answered "already received");
- no 5xx, no message on any queue, no vendor read for a replay, no DynamoDB item changed (apart from the few rows
  written by design for refused input: ``devkit.fuzz.state.WRITTEN_BY_DESIGN``);
- no answer carries a secret the world used, a stack trace, an AWS name, or the request's markup in a page;
- within a door, every refusal of one status reads the same (an unknown connection looks like a wrong signature).

``python -m devkit.fuzz --requests N --seed S`` runs it; ``devkit.fuzz.runner.run_fuzz`` returns the report.
"""
