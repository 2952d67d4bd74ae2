import hydra

from .app import main, register_resolvers

register_resolvers()
hydra_main = hydra.main(config_path="configs", config_name="config", version_base="1.3")(main)

if __name__ == "__main__":
    hydra_main()
