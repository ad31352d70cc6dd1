"""Shared test fixtures: paths to the repo, the bundled samples and the real data beside the repo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from commlab.startup import skip_iri_grammar

skip_iri_grammar()  # as the commlab command does: 0.9 s less in each worker that imports nbformat

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
SHARED_DATA = REPO.parent / "shared" / "data"


def skip_unless_ci(reason: str, *, under_ci: str = "under CI it must be present") -> NoReturn:
    """Skip the test with ``reason``; under CI (``CI=true``) fail instead, adding ``under_ci``.

    For what a test needs from outside the repo (the shared data, Chromium, Java and pyspark): a developer
    without it sees why the test did not run, while CI, whose set-up provides it, cannot pass without running it.
    """
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; {under_ci}")
    pytest.skip(reason)


def require_shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skip when absent, but fail under CI (``CI=true``)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        skip_unless_ci(f"real data not found at {path} (the shared/ folder beside the repo)")
    return path


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (pyspark, sqlglot or Java missing), else None."""
    import importlib.util
    import shutil
    import sys

    for mod in ("pyspark", "sqlglot"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install pyspark sqlglot)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME") and not (Path(sys.prefix) / "jdk").is_dir():
        return "Java is not installed (Spark needs Java 17+)"
    return None


@pytest.fixture
def shared_data() -> Path:
    """The ``../shared/data`` folder (skips, or fails under CI, when absent)."""
    return require_shared_data()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The bundled sample data folder."""
    assert (SAMPLES / "communities.csv").exists(), "data/samples is missing: run `make samples`"
    return SAMPLES


def pytest_configure(config: pytest.Config) -> None:
    """Markers declared by test modules of the engines (lead: may move into pyproject)."""
    config.addinivalue_line("markers", "spark: runs a local pyspark session (needs pyspark, sqlglot and Java 17+)")


#: The slow tests, left out of ``make test-fast`` (``-m "not slow"``): a module of ``tests/``, a test of it
#: (every parameter) or one parametrised case. Chosen from ``pytest -n 2 --durations=60`` over the whole suite
#: (2026-12, 2 cores shared by other jobs: 589 tests, 1,307 s): the tests that took more than ~5 s each,
#: mostly whole playbook or notebook runs, Spark sessions and the 365,845-event samples. A test added to
#: the suite is fast until measured otherwise: keep this list in step with the durations.
SLOW: frozenset[str] = frozenset({
    # measured 2026-12-06 (make test-fast at nice 0, load 7-10: 1,240 tests, 9 min 56 s wall, 260 s CPU):
    # command-line runs over whole data sets and the summaries of whole sample runs, 9-37 s each there
    "test_forecast.py::test_commlab_panel_without_as_of_takes_the_data_s_end_or_each_site_s_180_days",
    "test_forecast.py::test_commlab_forecast_evaluate_shuffle_is_the_no_signal_check",
    "test_forecast.py::test_commlab_generate_fates_writes_the_shipped_data_set_again",
    "test_forecast.py::test_commlab_forecast_evaluate_on_a_panel_with_columns_of_its_own",
    "test_cli_help.py::test_help_example_runs_as_written[commlab params notebooks/01_overview.ipynb]",
    "test_cli_help.py::test_help_example_runs_as_written[commlab validate data/samples]",
    "test_goals.py::test_the_summary_carries_each_goal_its_scorecard_and_says_once_that_c09_has_none",
    "test_goals.py::test_a_community_declared_on_two_platforms_gets_its_sentence",
    "test_goals.py::test_the_changes_since_the_last_run_follow_the_goals_measures_too",
    "test_hostile_end_to_end.py::test_a_community_name_of_5000_characters_is_bad_data",
    "test_random_parity.py::test_random_case_trailing_metrics_equal_naive_at_each_period_end",
    "test_plots_readable.py::test_tick_labels_are_never_upright_nor_run_into_each_other[health_heatmap]",
    "test_plots_readable.py::test_tick_labels_are_never_upright_nor_run_into_each_other[daily_11]",
    # at load ~4 (make test-fast 2 min 8 s wall, 173 s CPU): the longest test left, 11.7 s of one worker's tail
    "test_segment.py::test_k_search_is_bounded_and_stable_at_every_size",
    # 2026-12-06 14:15 (make test-fast at load ~2: 1,568 tests, 2 min 37 s wall): 32 s (the U test against the
    # pair-by-pair reference, 60 random cases) and 17 s (a whole playbook run under a DuckDB memory bound)
    "test_compare.py::test_stratified_u_test_equals_the_test_by_pairs_on_random_data",
    "test_playbook_memory.py::test_memory_limit_reaches_duckdb_in_a_real_run",
    # 2026-12-06 16:03 (make test-fast at load ~12, six jobs beside it: 1,576 tests, 7 min 57 s wall): two JVM starts
    # (35 s, 26 s), two real kernels killed or stopped on purpose (15 s, 14 s), and the mutation checks of the
    # signal rewrites (five cases, 4-11 s each; the equality test of those rewrites stays in the fast lane)
    "test_spark_settings.py::test_cluster_session_runs_udfs_with_the_configured_python",
    "test_spark_settings.py::test_commlab_run_exits_4_on_bad_spark_settings",
    "test_playbook_memory.py::test_out_of_memory_stop_names_the_setting_to_raise",
    "test_playbook_memory.py::test_a_killed_kernel_names_the_likely_cause",
    "test_signal_rewrites.py::test_a_bound_moved_by_one_microsecond_is_seen",
    # notebook 01's overview from two reads: its mutation checks (4 cases, 10-12 s each at load 8) and the stored
    # samples (21 s); the equality test on the random cases stays in the fast lane
    "test_overview_pass.py::test_a_wrong_summary_is_seen",
    "test_overview_pass.py::test_the_overview_of_stored_events_reads_them_in_place",
    # steps run at once: three runs of real kernels, sleeping 6 s or stopped mid-sleep (20-40 s each at load 10)
    "test_step_pool.py::test_steps_run_at_once_and_give_the_summary_of_a_run_one_at_a_time",
    "test_step_pool.py::test_a_failing_step_stops_the_running_one_and_starts_nothing",
    "test_step_pool.py::test_sigterm_stops_every_running_step",
    "test_step_pool.py::test_steps_after_a_step_start_once_its_tagged_cell_succeeded",
    "test_step_pool.py::test_a_step_failing_after_its_tagged_cell_stops_the_steps_started_early",
    "test_step_pool.py::test_the_step_that_took_longest_last_time_starts_first",
    # 2026-12-07 07:00 (make test-fast at load ~2 on a slow hour: 1,735 tests, 2 min 17-36 s wall): the further
    # cases of the equality tests against a former implementation or an oracle (1-3 s each; their first case stays
    # in the fast lane, as for the random cases below)
    "test_keyed_sums.py::test_the_numpy_sums_give_the_features_of_the_sql_sums[12-default]",
    "test_keyed_sums.py::test_the_numpy_sums_give_the_features_of_the_sql_sums[12-one-range]",
    "test_keyed_sums.py::test_the_numpy_sums_give_the_features_of_the_sql_sums[12-a-range-per-community-days-sorted]",
    "test_segment_stability_rewrite.py::test_stability_equals_the_former_refits_bit_for_bit[1-kw1-params1]",
    "test_segment_stability_rewrite.py::test_stability_equals_the_former_refits_bit_for_bit[2-kw2-params2]",
    "test_segment_stability_rewrite.py::test_stability_equals_the_former_refits_bit_for_bit[3-kw3-params3]",
    "test_segment_stability_rewrite.py::test_stability_equals_the_former_refits_bit_for_bit[4-kw4-params4]",
    "test_facts_sql.py::test_facts_equal_the_pandas_signals_and_no_event_frame_is_made[created+180d]",
    "test_member_keys.py::test_features_from_the_keyed_store_equal_those_from_the_ids[6]",
    "test_transitions_rewrite.py::test_role_codes_from_the_keyed_store_equal_those_from_the_ids[1]",
    "test_transitions_rewrite.py::test_role_codes_from_the_keyed_store_equal_those_from_the_ids[2]",
    "test_transitions_rewrite.py::test_role_codes_from_the_keyed_store_equal_those_from_the_ids[3]",
    "test_overview.py::test_daily_activity_and_weekday_hour_equal_the_pandas_oracle[America/New_York]",
    "test_prelude_rewrites.py::test_rewritten_tables_and_metrics_equal_their_former_sql[1-week]",
    "test_prelude_rewrites.py::test_rewritten_tables_and_metrics_equal_their_former_sql[2-None]",
    "test_prelude_rewrites.py::test_rewritten_tables_and_metrics_equal_their_former_sql[3-month]",
    "test_prelude_rewrites.py::test_rewritten_tables_and_metrics_equal_their_former_sql[4-None]",
    "test_retention_rewrite.py::test_cohorts_equal_the_former_query[month-1]",
    "test_retention_rewrite.py::test_cohorts_equal_the_former_query[month-4]",
    "test_retention_rewrite.py::test_cohorts_equal_the_former_query[month-5]",
    "test_retention_rewrite.py::test_cohorts_equal_the_former_query[week-1]",
    "test_retention_rewrite.py::test_cohorts_equal_the_former_query[week-4]",
    "test_retention_rewrite.py::test_cohorts_equal_the_former_query[week-5]",
    "test_flow_segments.py::test_segment_flow_equals_the_grouping_by_period[1-week]",
    "test_flow_segments.py::test_segment_flow_equals_the_grouping_by_period[3-month]",
    # whole modules: Spark sessions, Chromium, real data through every notebook, shipped playbooks
    "test_spark.py",
    "test_spark_playbook.py",
    "test_report_browser.py",
    "test_import_to_report.py",
    "test_shipped_playbooks.py",
    "test_notebook_segments.py",
    "test_notebooks_health.py",
    "test_benchmarks_ab.py",
    "test_privacy_run.py",
    "test_notebook_recommendations.py",
    "test_notebooks_language.py",
    "test_notebook_early_warning.py",
    "test_tiny_community.py",
    "test_docs.py",
    # single tests (or, with [..], single cases: one random case of several stays in the fast lane)
    "test_cli.py::test_failing_notebook_exits_5_with_one_line",
    "test_cli.py::test_run_prints_report_path_last",
    "test_cli_help.py::test_help_run_example_runs_as_written",
    "test_compare.py::test_planted_hypotheses_are_recovered",
    "test_compare.py::test_stack_exchange_sites_as_twelve_typed_communities",
    "test_data_cache.py::test_a_stack_exchange_folder_is_converted_once_per_run",
    "test_data_cache.py::test_cached_load_equals_a_fresh_load",
    "test_features.py::test_samples_duckdb_equals_pandas_oracle",
    "test_forecast.py::test_finds_nothing_where_nothing_was_planted",
    "test_forecast.py::test_recovers_the_planted_signal_and_beats_the_baseline",
    "test_forecast.py::test_small_n_is_reported_not_hidden",
    "test_fuzz_importers.py::test_a_few_corruptions_through_a_real_process",
    "test_fuzz_importers.py::test_every_corruption_is_a_clear_error_or_a_counted_skip",
    "test_generate.py::test_bundled_samples_are_what_write_samples_produces",
    "test_hostile_end_to_end.py::test_no_script_runs_and_the_page_forbids_scripts",
    "test_hostile_end_to_end.py::test_names_show_literally_and_no_template_is_evaluated",
    "test_hostile_end_to_end.py::test_member_names_and_messages_are_nowhere",
    "test_importers_se.py::test_all_twelve_sites",
    "test_importers_se_xml_stream.py::test_streamed_import_equals_in_memory_convert_in_small_chunks",
    "test_lifecycle.py::test_zombie_share_has_an_interval",
    "test_load.py::test_broken_samples_list_every_problem",
    "test_load.py::test_events_already_in_order_load_the_same",
    "test_load.py::test_events_are_ordered_by_community_then_time_with_ties_in_file_order",
    "test_load.py::test_gbk_copy_of_samples_loads_identically",
    "test_load.py::test_validate_cli_lists_every_problem",
    "test_load_streamed.py::test_a_check_of_unusual_folders_matches_a_load",
    "test_load_streamed.py::test_a_check_reports_what_a_load_reports_without_ordering_or_writing",
    "test_load_streamed.py::test_a_problem_after_valid_chunks_leaves_nothing_behind",
    "test_load_streamed.py::test_events_in_order_or_not_go_through_the_keyed_copy_and_load_the_same",
    "test_load_streamed.py::test_extra_columns_are_kept_even_one_named_like_duckdbs_row_number",
    "test_load_streamed.py::test_overview_notebook_on_streamed_events_gives_the_same_summary",
    "test_load_streamed.py::test_problems_spread_over_chunks_are_reported_as_a_whole_load_reports_them",
    "test_load_streamed.py::test_streamed_events_equal_whole_ones_with_ties_across_chunks",
    "test_load_streamed.py::test_streamed_load_goes_into_the_data_cache_and_is_read_back",
    "test_load_streamed.py::test_when_the_cache_entry_cannot_be_written_the_events_go_to_a_temporary_folder",
    "test_load_streamed.py::test_when_to_stream",
    "test_load_streamed.py::test_without_a_cache_the_events_stay_in_a_temporary_folder",
    "test_metrics.py::test_connect_copies_the_events_only_when_asked",
    "test_network.py::test_exact_id_codes_give_the_hashed_results",
    "test_network.py::test_samples_declared_economy_is_recovered",
    "test_notebook_overview.py::test_overview_suppresses_communities_and_counts_below_k",
    "test_panel.py::test_no_feature_at_period_k_reads_an_event_after_period_k",
    "test_parity.py::test_naive_pandas_equals_duckdb_before_1970",
    "test_parity.py::test_trailing_metrics_of_monthly_windows_equal_naive_pandas_at_each_period_end",
    "test_plots_health.py::test_economy_bars_and_high_value_bars_are_bounded",
    "test_plots_health.py::test_many_communities_leave_the_values_out_and_keep_the_figure_bounded",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[daily_11-en]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[daily_11-zh]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[daily_3-en]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[daily_3-zh]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[fingerprint-en]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[fingerprint-zh]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[health_heatmap-en]",
    "test_plots_readable.py::test_text_is_at_least_9_px_where_the_figure_is_shown[health_heatmap-zh]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[daily_11-en]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[daily_11-zh]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[daily_3-en]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[daily_3-zh]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[fingerprint-en]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[fingerprint-zh]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[health_heatmap-en]",
    "test_plots_readable.py::test_texts_and_alt_text_are_in_one_language[health_heatmap-zh]",
    "test_public_api.py::test_examples_run[MemberSegmenter]",
    "test_public_api.py::test_examples_run[build_facts]",
    "test_public_api.py::test_examples_run[community_health]",  # every metric of 2 sample communities: 10 s
    "test_public_api.py::test_examples_run[compute_metrics]",
    "test_public_api.py::test_examples_run[early_warning]",  # a forecast over data/fates: 19 s
    "test_public_api.py::test_examples_run[executive_summary]",
    "test_public_api.py::test_examples_run[load_source]",
    "test_public_api.py::test_examples_run[member_features]",
    "test_public_api.py::test_examples_run[rfm_from_events]",
    "test_public_api.py::test_examples_run[run_playbook]",
    "test_random_parity.py::test_random_case_duckdb_equals_naive_pandas[1]",
    "test_random_parity.py::test_random_case_duckdb_equals_naive_pandas[2]",
    "test_random_parity.py::test_random_case_duckdb_equals_naive_pandas[3]",
    "test_random_parity.py::test_random_case_duckdb_equals_naive_pandas[4]",
    "test_random_parity.py::test_random_case_duckdb_equals_naive_pandas[5]",
    "test_random_parity.py::test_random_case_every_metric_of_a_window_equals_that_window_computed_alone",
    "test_recommend.py::test_every_part_of_the_summary_is_in_one_language_with_a_previous_run",
    "test_recommend.py::test_facts_take_one_instant_per_community",
    "test_recommend.py::test_stack_exchange_sites_each_at_their_day_180",
    "test_replies.py::test_dev_split_inference_beats_the_name_rule",
    "test_run_comparison.py::test_samples_then_other_data_then_samples",
    "test_run_state.py::test_a_disk_error_names_the_path_and_leaves_no_run_folder",
    "test_run_state.py::test_a_run_killed_at_the_scan_publishes_nothing_and_the_next_run_cleans_up",
    "test_run_state.py::test_a_run_that_cannot_move_latest_is_not_succeeded",
    "test_runner.py::test_a_second_run_on_the_same_data_exits_6_naming_the_holder_or_waits",
    "test_runner.py::test_cell_timeout_is_a_notebook_failure",
    "test_runner.py::test_failing_notebook_keeps_it_and_leaves_latest",
    "test_runner.py::test_sigkill_mid_run_leaves_latest_at_previous_good_run",
    "test_runner.py::test_sigterm_marks_the_run_interrupted",
    "test_segment.py::test_auto_k_finds_the_planted_blobs_with_either_method",
    "test_segment.py::test_clusters_recover_planted_roles_on_samples",
    "test_segment.py::test_many_members_choose_k_on_a_subsample_and_fit_kmeans_on_all",
    "test_segment.py::test_segments_on_real_stack_exchange_sites_are_stable",
    "test_stored_events.py::test_a_cache_entry_whose_events_lack_a_column_is_not_used",
    "test_stored_events.py::test_a_cached_load_keeps_its_events_in_the_file_until_asked",
    "test_stored_events.py::test_engines_read_stored_events_in_place",
    "test_stored_events.py::test_facts_from_stored_events_equal_the_in_memory_facts",
    "test_stored_events.py::test_sql_analyses_read_stored_events_in_place",
    "test_transitions.py::test_snapshot_features_on_the_samples_and_roles_as_with_a_labeler",
    "test_transitions.py::test_transitions_with_a_labeler",
    "test_tutorial.py::test_the_tutorial_runs_with_papermill",
})


def _slow_keys(item: pytest.Item) -> tuple[str, ...]:
    """The keys of :data:`SLOW` that would name ``item``: its module, its test, its parametrised case."""
    module = Path(str(item.fspath)).name
    case = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
    return module, f"{module}::{case.split('[', 1)[0]}", f"{module}::{case}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests listed in :data:`SLOW` ``slow``."""
    for item in items:
        if any(key in SLOW for key in _slow_keys(item)):
            item.add_marker(pytest.mark.slow)
