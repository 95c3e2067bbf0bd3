# bash completion for netctl (installed by make install)
_netctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} words=() i
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == -* ]] || words+=("${COMP_WORDS[i]}")
    done
    local options="--tun --subnet --tun-socket --subnet-socket --token-file --json --help"
    case "${words[*]}" in
    "") COMPREPLY=($(compgen -W "tun subnet status $options" -- "$cur")) ;;
    tun) COMPREPLY=($(compgen -W "create list show delete exec" -- "$cur")) ;;
    "tun exec") COMPREPLY=($(compgen -W "--fd-socket" -- "$cur")) ;;
    "tun create") COMPREPLY=($(compgen -W "--name --mtu --prefix-len --owner --group --multi-queue --ipv6" -- "$cur")) ;;
    subnet) COMPREPLY=($(compgen -W "add list delete" -- "$cur")) ;;
    "subnet add") COMPREPLY=($(compgen -W "--auto --prefix-len" -- "$cur")) ;;
    *) COMPREPLY=() ;;
    esac
}
complete -F _netctl netctl
