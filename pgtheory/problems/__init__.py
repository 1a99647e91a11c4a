"""Exact problem definitions: tabular MDPs and their generators, bandits, the toy sequence task, a linear-Gaussian latent model,
the discounted LQR, linear MDPs."""
from .bandits import Bandit, MultiPromptBandit
from .generators import cliff_walk, deep_sea, garnet, gridworld, hard_chain, stochastic_cliff
from .gap_family import DECISION_STATE, LOSE_STATE, WIN_STATE, gap_family, gap_linear_mdp, success_probabilities
from .inventory import BaseStockProblem, base_stock_period_costs, base_stock_total_cost
from .latent import GaussianLatentModel
from .linear_mdp import LINEAR_MDP_TOL, LinearMDP, misspecified_linear_mdp, one_hot_linear_mdp, random_linear_mdp, tabular_form, two_basin_linear_mdp
from .lqr import LQR, random_lqr
from .mdp import TabularMDP
from .multi_objective import SCALARISATIONS, MultiObjectiveMDP, Scalarisation, ScalarisedMDP, make_scalarisation
from .sparse_mdp import DENSE_LIMIT, SparseTabularMDP, sparse_garnet
from .sequence import SequenceTask, toy_sequence_task

__all__ = ["gap_linear_mdp", "gap_family", "success_probabilities", "DECISION_STATE", "WIN_STATE", "LOSE_STATE", "TabularMDP", "garnet", "hard_chain", "gridworld", "cliff_walk", "stochastic_cliff", "deep_sea", "Bandit", "MultiPromptBandit",
           "SequenceTask", "toy_sequence_task", "GaussianLatentModel", "LQR", "random_lqr",
           "LinearMDP", "LINEAR_MDP_TOL", "random_linear_mdp", "one_hot_linear_mdp", "misspecified_linear_mdp", "tabular_form", "two_basin_linear_mdp",
           "BaseStockProblem", "base_stock_period_costs", "base_stock_total_cost",
           "SparseTabularMDP", "sparse_garnet", "DENSE_LIMIT",
           "MultiObjectiveMDP", "ScalarisedMDP", "Scalarisation", "SCALARISATIONS", "make_scalarisation"]
