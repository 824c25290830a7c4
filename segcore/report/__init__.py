"""Figures for people: counts (`stats`), progress over time (`progress`), pace, stalls and
risk (`pace`), alerts and suggested moves (`alerts`) and the weekly summary (`pace_report`).
Imports `core`, `team`, `work` and `uploads`.
"""
