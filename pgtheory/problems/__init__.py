"""Exact problem definitions: tabular MDPs and their generators, bandits, the toy sequence task, a linear-Gaussian latent model."""
from .bandits import Bandit, MultiPromptBandit
from .generators import cliff_walk, garnet, gridworld, hard_chain
from .latent import GaussianLatentModel
from .mdp import TabularMDP
from .sequence import SequenceTask, toy_sequence_task

__all__ = ["TabularMDP", "garnet", "hard_chain", "gridworld", "cliff_walk", "Bandit", "MultiPromptBandit",
           "SequenceTask", "toy_sequence_task", "GaussianLatentModel"]
