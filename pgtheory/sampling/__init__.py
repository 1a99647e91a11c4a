"""Batched, seeded samplers on any torch device: MDP trajectories, bandit draws, groups of sequences."""
from .alias import AliasTable, build_alias_table, sample_alias
from .bandits import BanditDraws, sample_bandit, sample_multiprompt_groups
from .mdp import StateActionRollouts, Trajectories, TrajectorySampler, rollouts_from_state_actions, sample_trajectories
from .sparse_mdp import SparseTrajectorySampler
from .lqr import LQRTrajectories, sample_lqr_trajectories
from .runs import LQRRunBatch, sample_lqr_runs, sample_policies, seed_generators, transition_alias_table
from .generative import (conditional_binomial_probabilities, empirical_next_means, multinomial_counts,
                         sample_next_state_counts, sample_next_states)
from .bandit_reinforce_runs import bandit_reinforce_runs
from .transitions import TransitionStream, sample_iid_transitions, sample_visitation_q_estimates
from .sequence import SequenceGroups, enumerate_sequence_groups, sample_sequence_groups

__all__ = ["bandit_reinforce_runs", "sample_visitation_q_estimates", "AliasTable", "build_alias_table", "sample_alias", "BanditDraws", "sample_bandit", "sample_multiprompt_groups",
           "Trajectories", "TrajectorySampler", "sample_trajectories", "StateActionRollouts", "rollouts_from_state_actions", "SequenceGroups", "sample_sequence_groups",
           "enumerate_sequence_groups", "LQRTrajectories", "sample_lqr_trajectories",
           "LQRRunBatch", "sample_lqr_runs", "sample_policies", "seed_generators", "transition_alias_table",
           "TransitionStream", "sample_iid_transitions", "conditional_binomial_probabilities", "empirical_next_means",
           "multinomial_counts", "sample_next_state_counts", "sample_next_states", "SparseTrajectorySampler"]
