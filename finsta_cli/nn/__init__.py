"""Finsta's graph encoders: GTrm (TSG), R-GTrm (DSG/HSG) and the STGD layer between them."""

from finsta_cli.nn.gtrm import EdgeEncoder, GraphEncoderOutput, GTrm, GTrmLayer, NodeEncoder
from finsta_cli.nn.rgtrm import RecurrentUpdate, RGTrm
from finsta_cli.nn.stgd import STGDLayer, moving_weight

__all__ = [
    "EdgeEncoder",
    "GTrm",
    "GTrmLayer",
    "GraphEncoderOutput",
    "NodeEncoder",
    "RGTrm",
    "RecurrentUpdate",
    "STGDLayer",
    "moving_weight",
]
