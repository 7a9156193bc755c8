"""What the pipe shows in Bitbucket itself: the Code Insights report on every commit and the pull-request comment.

Modules: findings (look-alike IDs, missing records, records people own, failures, each with its commit),
report (the Code Insights report and its annotations), comment (the pull-request comment), preview (the
release-notes entries a pull request adds), policy (REQUIRE_RECORD). The targets that send them are
pipe.sinks.code_insights and pipe.sinks.pr_comment.
"""
