"""The MLLP listener: HL7 v2 ADT messages from the hospitals' EHR over TCP, each answered with an ACK.

An entry point like the webhooks: `server` owns the sockets and the framing's timeouts,
`listener` turns each message into one service call in one transaction.
"""
