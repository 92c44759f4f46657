"""The `lifeboat` operator CLI, built on openstacksdk.

It exists because the stock clients cannot reach microversion 2.105: the SDK
(and so OSC) sends os-migrateLive at 2.30, and novaclient stops at 2.96. This
CLI sends the action through the SDK's compute proxy at 2.105 when the
endpoint is Lifeboat, and at Nova's own maximum (up to 2.104) elsewhere.
"""
