"""Training: SFT and GRPO on TRL with LoRA (PEFT), recipes, rewards, baselines."""
