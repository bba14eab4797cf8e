"""Live story cards: channels that follow a project (subscriptions) and the claims and
records of the delivery of their card updates (deliveries). The updates themselves are
written by each story change (storage/outbox.py); Slack is bot/live's business."""
