"""The domain of joint dispatch: calls, joint incidents, tasks, response plans and the event log."""
