# One dashboard over the log-based metrics (monitoring.tf). Charts align over two schedule
# periods so that every point holds at least one pass.
locals {
  metric_filter = { for key, name in local.metric_name :
    key => "metric.type=\"logging.googleapis.com/user/${name}\" resource.type=\"cloud_run_revision\""
  }

  per_group = ["metric.label.swarming_host", "metric.label.group"]

  # A chart's data set: one metric, aligned and reduced across revisions.
  dashboard_series = {
    healthy = {
      filter = local.metric_filter.group_healthy, aligner = "ALIGN_MEAN", reducer = "REDUCE_MEAN", by = local.per_group,
      legend = "healthy $${metric.labels.group} ($${metric.labels.swarming_host})", plot = "LINE"
    }
    desired = {
      filter = local.metric_filter.group_desired, aligner = "ALIGN_MEAN", reducer = "REDUCE_MEAN", by = local.per_group,
      legend = "desired $${metric.labels.group} ($${metric.labels.swarming_host})", plot = "LINE"
    }
    ratio = {
      filter = local.metric_filter.group_healthy_ratio, aligner = "ALIGN_MEAN", reducer = "REDUCE_MEAN", by = local.per_group,
      legend = "$${metric.labels.group} ($${metric.labels.swarming_host})", plot = "LINE"
    }
    actions_by_reason = {
      filter = "${local.metric_filter.actions} metric.label.outcome!=\"dry-run\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM",
      by     = ["metric.label.event", "metric.label.reason"], legend = "$${metric.labels.event} $${metric.labels.reason}", plot = "STACKED_BAR"
    }
    action_errors = {
      filter = "${local.metric_filter.actions} metric.label.outcome=\"error\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM",
      by     = ["metric.label.event", "metric.label.group"], legend = "$${metric.labels.event} $${metric.labels.group}", plot = "STACKED_BAR"
    }
    passes = {
      filter = local.metric_filter.passes, aligner = "ALIGN_SUM", reducer = "REDUCE_SUM",
      by     = ["metric.label.outcome"], legend = "$${metric.labels.outcome}", plot = "STACKED_BAR"
    }
    duration_p50 = {
      filter = local.metric_filter.pass_duration, aligner = "ALIGN_PERCENTILE_50", reducer = "REDUCE_MAX", by = [],
      legend = "p50", plot = "LINE"
    }
    duration_max = {
      filter = local.metric_filter.pass_duration, aligner = "ALIGN_PERCENTILE_99", reducer = "REDUCE_MAX", by = [],
      legend = "p99", plot = "LINE"
    }
    expiry = {
      filter = local.metric_filter.soonest_expiry, aligner = "ALIGN_MEAN", reducer = "REDUCE_MIN", by = [],
      legend = "soonest expiry (h)", plot = "LINE"
    }
    brakes = {
      filter = local.metric_filter.brakes, aligner = "ALIGN_SUM", reducer = "REDUCE_SUM",
      by     = ["metric.label.swarming_host"], legend = "$${metric.labels.swarming_host}", plot = "STACKED_BAR"
    }
  }

  dashboard_charts = [
    { title = "Healthy vs desired leases per group", series = ["healthy", "desired"], y = "leases", thresholds = [] },
    { title = "Healthy ratio per group", series = ["ratio"], y = "healthy / desired", thresholds = [var.capacity_alert_ratio] },
    { title = "Actions by reason (dry-run excluded)", series = ["actions_by_reason"], y = "actions", thresholds = [] },
    { title = "Failed actions", series = ["action_errors"], y = "actions", thresholds = [] },
    { title = "Passes by outcome", series = ["passes"], y = "passes", thresholds = [] },
    # The pass deadline (default 4 min) caps a pass; near it, actions are being skipped.
    { title = "Pass duration", series = ["duration_p50", "duration_max"], y = "ms", thresholds = [local.pass_deadline_seconds * 1000] },
    { title = "Soonest lease expiry", series = ["expiry"], y = "hours", thresholds = [var.expiry_alert_hours] },
    { title = "Safety brake engagements", series = ["brakes"], y = "engagements", thresholds = [] },
  ]

  # The API leaves zero tile positions and empty lists out of the dashboard it returns, and the
  # provider compares that with this JSON: any such key here would show as a change in every
  # plan (provider issue #16173). So they are omitted, not written as 0 or [].
  dashboard_json = jsonencode({
    displayName = "makemac (${var.function_name})"
    mosaicLayout = {
      columns = 48
      tiles = [for i, chart in local.dashboard_charts : merge(
        { for k, v in { xPos = (i % 2) * 24, yPos = floor(i / 2) * 16 } : k => v if v != 0 },
        {
          width  = 24
          height = 16
          widget = {
            title = chart.title
            xyChart = merge(
              {
                dataSets = [for name in chart.series : {
                  plotType           = local.dashboard_series[name].plot
                  legendTemplate     = local.dashboard_series[name].legend
                  minAlignmentPeriod = local.window_2_periods
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = local.dashboard_series[name].filter
                      aggregation = merge(
                        {
                          alignmentPeriod    = local.window_2_periods
                          perSeriesAligner   = local.dashboard_series[name].aligner
                          crossSeriesReducer = local.dashboard_series[name].reducer
                        },
                        { for k, v in { groupByFields = local.dashboard_series[name].by } : k => v if length(v) > 0 },
                      )
                    }
                  }
                }]
                yAxis = { label = chart.y, scale = "LINEAR" }
              },
              { for k, v in { thresholds = [for value in chart.thresholds : { value = value, targetAxis = "Y1" }] } : k => v if length(v) > 0 },
            )
          }
        },
      )]
    }
  })
}

resource "google_monitoring_dashboard" "makemac" {
  project        = var.project_id
  dashboard_json = local.dashboard_json

  # The charts read these metrics; create them first, as when the JSON referred to them.
  depends_on = [
    google_project_service.apis,
    google_logging_metric.actions,
    google_logging_metric.passes,
    google_logging_metric.pass_duration,
    google_logging_metric.group_healthy_ratio,
    google_logging_metric.group_healthy,
    google_logging_metric.group_desired,
    google_logging_metric.soonest_expiry,
    google_logging_metric.brakes,
  ]
}
