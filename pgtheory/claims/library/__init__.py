"""Every claim module; importing this package registers them all."""
from . import l7_gae, l9_pg_theorem, l9_softmax_rates, l11_kl_estimators, l39_ppo_clip, l55_trpo_bound, l187_vtrace, l183_tsallis_kl, l213_f_dpg, l11_rpg_surrogates, l65_group_reinforce_off_policy, l3_rapid_staleness, l93_token_surrogate, l5_iw_sft_bounds, l127_iwae_snr, l135_trajectory_traces  # noqa: F401
