"""`make bench`: Koppel's speed figures, each measured in the same run as its reference (docs/performance.md).

One module per figure, each with a ``measure_*`` function that prints its detail and returns its numbers:
coldstart (import + set-up against a plain Powertools function), cpu (our CPU per booked order), throughput
(pipeline against moto's bare SQS), ratelimit (draining a backlog under a vendor rate limit), latency (webhook to
booked at a steady rate) and cost (Lambda list prices from the measured durations). ``world`` is the local stack
they share, ``instant`` the in-process vendor and DynamoDB stand-ins of the CPU figure. Benchmarks print
figures; they assert nothing about time.
"""
