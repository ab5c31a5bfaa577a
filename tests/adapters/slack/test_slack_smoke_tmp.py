import json
async def test_smoke(slack):
    ack = await slack.command("/deadline help")
    print(json.dumps(ack)[:300])
    ack = await slack.command("/deadline add Signed usage agreement due 2026-11-27T17:00-05:00")
    print(json.dumps(ack)[:600])
    ack = await slack.command("/deadline list")
    print(json.dumps(ack)[:600])
    ack = await slack.command("/position D1")
    print("form ack", ack)
    [call] = await slack.api.wait_for("views.open")
    print(json.dumps(call.params)[:1500])
    print([c.method for c in slack.api.calls])
